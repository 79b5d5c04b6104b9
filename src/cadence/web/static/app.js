// Cadence pages: job progress polling and the audio player's duration. No build step.
"use strict";

function pollJob(box) {
  const url = box.dataset.jobUrl;
  const status = document.getElementById("job-status");
  const bar = document.getElementById("job-progress");
  const error = document.getElementById("job-error");
  async function tick() {
    let job;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      job = await response.json();
    } catch (err) {
      setTimeout(tick, 3000);
      return;
    }
    const words = document.createElement("strong");
    words.textContent = job.progress_text;
    if (status.textContent !== job.progress_text) status.replaceChildren(words);
    bar.value = job.progress;
    if (job.status === "done" && job.links.session_page) {
      window.location.assign(job.links.session_page);
    } else if (job.status === "failed") {
      error.textContent = job.error || "the job failed";
      error.hidden = false;
    } else {
      setTimeout(tick, 1000);
    }
  }
  tick();
}

function showDuration(player) {
  const out = document.getElementById("duration");
  const show = () => {
    if (Number.isFinite(player.duration)) {
      const s = Math.round(player.duration);
      out.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      out.dataset.seconds = String(player.duration);
    }
  };
  player.addEventListener("loadedmetadata", show);
  show();
}

document.addEventListener("DOMContentLoaded", () => {
  // After a failed submit: focus the summary at the top; its links lead to each field.
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  const job = document.getElementById("job");
  if (job && job.dataset.jobUrl) pollJob(job);
  const player = document.getElementById("player");
  if (player) showDuration(player);
  const link = document.getElementById("link-url");
  if (link) link.addEventListener("focus", () => link.select());
});
