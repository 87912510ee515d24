/* 语音: record with the phone's microphone into a normal file input, so the form carries the recording.
 *
 * Enhances <div data-voice-recorder data-input="id of a file input">. Where MediaRecorder is missing
 * the div stays hidden and the plain file input is used. No inline handlers (CSP): listeners only. */
(function () {
  "use strict";

  var boxes = document.querySelectorAll("[data-voice-recorder]");
  if (!boxes.length || !window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;

  var MAX_SECONDS = 120; // well under the voice upload limit at speech bit rates
  var TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4;codecs=mp4a.40.2", "audio/mp4"];

  function supportedType() {
    if (typeof MediaRecorder.isTypeSupported !== "function") return "";
    for (var i = 0; i < TYPES.length; i += 1) {
      if (MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    }
    return "";
  }

  function enhance(box) {
    var input = document.getElementById(box.getAttribute("data-input"));
    if (!input) return;
    var t = function (key, seconds) {
      return (box.getAttribute("data-t-" + key) || "").split("{seconds}").join(String(seconds || 0));
    };
    var record = button(t("record"), "primary");
    var stop = button(t("stop"), "");
    var status = document.createElement("span");
    status.className = "muted";
    status.setAttribute("aria-live", "polite");
    var player = document.createElement("audio");
    player.controls = true;
    player.hidden = true;
    stop.hidden = true;
    box.append(record, stop, status, player);
    box.hidden = false;

    var recorder = null;
    var chunks = [];
    var started = 0;
    var ticker = null;
    var stream = null;

    function seconds() { return Math.round((Date.now() - started) / 1000); }

    function begin() {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (got) {
        stream = got;
        var type = supportedType();
        recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
        chunks = [];
        recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) chunks.push(e.data); });
        recorder.addEventListener("stop", finish);
        recorder.start(1000);
        started = Date.now();
        record.hidden = true;
        stop.hidden = false;
        status.textContent = t("recording", 0);
        ticker = setInterval(function () {
          status.textContent = t("recording", seconds());
          if (seconds() >= MAX_SECONDS) end();
        }, 500);
      }, function () {
        status.textContent = t("denied");
      });
    }

    function end() {
      if (recorder && recorder.state !== "inactive") recorder.stop();
    }

    function finish() {
      clearInterval(ticker);
      var length = seconds();
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      var type = (recorder.mimeType || supportedType() || "audio/webm").split(";")[0];
      var blob = new Blob(chunks, { type: type });
      var file = new File([blob], type === "audio/mp4" ? "voice.m4a" : "voice.webm", { type: type });
      attach(file);
      if (player.src) URL.revokeObjectURL(player.src);
      player.src = URL.createObjectURL(blob);
      player.hidden = false;
      stop.hidden = true;
      record.hidden = false;
      record.textContent = t("again");
      status.textContent = t("recorded", length);
    }

    function attach(file) {
      // drafts.js reads this when the browser cannot set a file input's files.
      input.civicgridRecording = file;
      try {
        var transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
      } catch (e) { /* older browsers: drafts.js adds the recording to the upload itself */ }
    }

    function clear() {
      input.civicgridRecording = null;
      if (player.src) URL.revokeObjectURL(player.src);
      player.removeAttribute("src");
      player.hidden = true;
      record.textContent = t("record");
      status.textContent = "";
    }

    record.addEventListener("click", begin);
    stop.addEventListener("click", end);
    // A chosen file replaces the recording; a reset form forgets it.
    input.addEventListener("change", function () { input.civicgridRecording = null; });
    if (input.form) input.form.addEventListener("reset", clear);
  }

  function button(text, className) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = text;
    return b;
  }

  Array.prototype.forEach.call(boxes, enhance);
})();
