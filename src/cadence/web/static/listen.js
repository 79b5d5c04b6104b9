// The patient's listening page: a large Play/Pause button over the <audio> element.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player");
  const play = document.getElementById("play");
  if (!player || !play) return;
  const label = () => { play.textContent = player.paused ? "Play" : "Pause"; };
  play.addEventListener("click", () => {
    if (player.paused) player.play(); else player.pause();
  });
  for (const event of ["play", "pause", "ended"]) player.addEventListener(event, label);
  play.hidden = false;  // without scripts the player's own controls remain
  label();
});
