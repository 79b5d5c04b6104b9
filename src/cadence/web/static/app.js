// Cadence pages: job progress polling and the audio player's duration. No build step.
"use strict";

function pollJob(box) {
  const url = box.dataset.jobUrl;
  const status = document.getElementById("job-status");
  const stage = document.getElementById("job-stage");
  const bar = document.getElementById("job-progress");
  const bars = document.getElementById("job-bars");
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
    status.textContent = job.status;
    stage.textContent = job.stage;
    bar.value = job.progress;
    bars.textContent = job.bars_done + " / " + job.bars_total + " bars";
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
  const job = document.getElementById("job");
  if (job && job.dataset.jobUrl) pollJob(job);
  const player = document.getElementById("player");
  if (player) showDuration(player);
  const link = document.getElementById("link-url");
  if (link) link.addEventListener("focus", () => link.select());
});
