// The hold's countdown: the page says until when the time is held; with script, how long is
// left, once a second. role="timer" keeps screen readers from announcing every tick.
(function () {
  var timer = document.querySelector("[data-hold-ends]");
  if (!timer) return;
  var ends = Date.parse(timer.getAttribute("data-hold-ends"));
  var left = timer.querySelector(".left");
  function tick() {
    var seconds = Math.max(0, Math.round((ends - Date.now()) / 1000));
    left.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    left.hidden = false;
    if (seconds > 0) setTimeout(tick, 1000);
  }
  tick();
})();
