import Foundation

/// The packet's scoring page: one self-contained HTML file (inline CSS and JS, no network, no server), the
/// packet's cases embedded as JSON (a browser opening a file:// page may not fetch cases.json beside it).
/// docs/READER_STUDY.md describes what the reader sees and the files it exports.
enum ReaderStudyPage {
    static func html(packetJSON: Data, title: String) -> String {
        // "<" escaped inside the JSON so no report text can close the <script> element.
        let embedded = String(decoding: packetJSON, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        let escapedTitle = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        return template.replacingOccurrences(of: "@@TITLE@@", with: escapedTitle)
            .replacingOccurrences(of: "@@PACKET_JSON@@", with: embedded)
    }

    static let template = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>@@TITLE@@</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #1d1f21; color: #e8e8e8; height: 100vh; display: flex; flex-direction: column; }
  header { display: flex; gap: 16px; align-items: center; padding: 8px 12px; background: #2a2d30; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  header .spacer { flex: 1; }
  main { flex: 1; display: flex; min-height: 0; }
  #viewer { flex: 3; position: relative; overflow: hidden; background: #000; cursor: grab; }
  #viewer.dragging { cursor: grabbing; }
  #image { position: absolute; left: 0; top: 0; transform-origin: 0 0; filter: url(#wl); user-select: none; -webkit-user-drag: none; image-rendering: auto; }
  #viewer-tools { position: absolute; left: 8px; bottom: 8px; background: rgba(30,30,30,.85); padding: 6px 8px; border-radius: 4px; font-size: 13px; }
  #viewer-tools label { margin-right: 8px; }
  #side { flex: 2; max-width: 560px; padding: 12px 16px; overflow-y: auto; background: #25282b; }
  #report { font-size: 18px; background: #f4f1e8; color: #111; padding: 12px; border-radius: 4px; white-space: pre-wrap; }
  .rubric { list-style: none; padding: 0; margin: 12px 0; }
  .rubric li { display: flex; gap: 10px; align-items: flex-start; padding: 6px; border-radius: 4px; cursor: pointer; border: 1px solid #444; margin-bottom: 6px; }
  .rubric li.chosen { background: #2f6f3e; border-color: #6fcf7f; }
  .rubric .key { font-weight: bold; font-size: 18px; min-width: 1.5em; text-align: center; }
  textarea { width: 100%; min-height: 70px; font: inherit; }
  button { font: inherit; padding: 4px 10px; }
  .nav { display: flex; gap: 8px; margin-top: 8px; align-items: center; }
  #message { color: #ffcf6f; min-height: 1.4em; }
  kbd { background: #444; border-radius: 3px; padding: 0 4px; }
  .help { font-size: 12px; color: #aaa; }
</style>
</head>
<body>
<svg width="0" height="0" style="position:absolute">
  <filter id="wl" color-interpolation-filters="sRGB">
    <feComponentTransfer>
      <feFuncR id="wl-r" type="linear" slope="1" intercept="0"/>
      <feFuncG id="wl-g" type="linear" slope="1" intercept="0"/>
      <feFuncB id="wl-b" type="linear" slope="1" intercept="0"/>
    </feComponentTransfer>
  </filter>
</svg>
<header>
  <h1 id="title">@@TITLE@@</h1>
  <label>Reader id <input id="reader" size="12" autocomplete="off"></label>
  <span id="progress"></span>
  <span class="spacer"></span>
  <button id="export-json">Export JSON</button>
  <button id="export-csv">Export CSV</button>
</header>
<main>
  <div id="viewer">
    <img id="image" alt="chest radiograph" draggable="false">
    <div id="viewer-tools">
      <button id="fit" title="Fit (F)">Fit</button>
      <button id="zoom-in" title="Zoom in (+)">+</button>
      <button id="zoom-out" title="Zoom out (-)">&minus;</button>
      <label>Level <input id="level" type="range" min="0" max="1" step="0.01" value="0.5"></label>
      <label>Window <input id="window" type="range" min="0.05" max="1" step="0.01" value="1"></label>
      <button id="wl-reset" title="Reset window/level (R)">Reset</button>
    </div>
  </div>
  <div id="side">
    <div id="case-label"></div>
    <div id="report"></div>
    <ul class="rubric" id="rubric"></ul>
    <label for="comment">Comment on this case (optional)</label>
    <textarea id="comment"></textarea>
    <div class="nav">
      <button id="back">&larr; Back</button>
      <button id="next">Next &rarr;</button>
      <span id="score-state"></span>
    </div>
    <div id="message"></div>
    <p class="help">Keys: <kbd>1</kbd>-<kbd>5</kbd> score, <kbd>N</kbd>/<kbd>&rarr;</kbd> next, <kbd>B</kbd>/<kbd>&larr;</kbd> back,
      <kbd>+</kbd>/<kbd>-</kbd> zoom, <kbd>F</kbd> fit, <kbd>R</kbd> reset window/level. Drag the image to pan, the wheel zooms,
      right-drag sets window (left-right) and level (up-down). Scores are saved in this browser as you go; export them when done.</p>
  </div>
</main>
<script id="packet-data" type="application/json">@@PACKET_JSON@@</script>
<script>
"use strict";
(function () {
  var packet = JSON.parse(document.getElementById("packet-data").textContent);
  var cases = packet.cases;
  var storageKey = "cxrcaption-reader-study:" + packet.packet;
  var state = { reader: "", current: 0, scores: {} };
  try {
    var saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") {
      state.reader = typeof saved.reader === "string" ? saved.reader : "";
      state.current = Number.isInteger(saved.current) && saved.current >= 0 && saved.current < cases.length ? saved.current : 0;
      state.scores = saved.scores && typeof saved.scores === "object" ? saved.scores : {};
    }
  } catch (e) { /* a broken saved state starts afresh */ }

  var $ = function (id) { return document.getElementById(id); };
  var image = $("image"), viewer = $("viewer");
  var view = { scale: 1, x: 0, y: 0 };

  function save() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); }
    catch (e) { say("Could not save in this browser: " + e.message + ". Export often."); }
  }
  function say(text) { $("message").textContent = text; }
  function entry(c) { return state.scores[c.id] || { score: null, comment: "" }; }
  function scoredCount() {
    var n = 0;
    cases.forEach(function (c) { if (entry(c).score) n++; });
    return n;
  }

  packet.rubric.forEach(function (level) {
    var li = document.createElement("li");
    li.dataset.score = level.score;
    li.innerHTML = '<span class="key"></span><span class="text"></span>';
    li.querySelector(".key").textContent = level.score;
    li.querySelector(".text").textContent = level.criterion;
    li.addEventListener("click", function () { setScore(level.score); });
    $("rubric").appendChild(li);
  });

  function fit() {
    if (!image.naturalWidth) return;
    var w = viewer.clientWidth, h = viewer.clientHeight;
    view.scale = Math.min(w / image.naturalWidth, h / image.naturalHeight);
    view.x = (w - image.naturalWidth * view.scale) / 2;
    view.y = (h - image.naturalHeight * view.scale) / 2;
    applyView();
  }
  function applyView() {
    image.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.scale + ")";
  }
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = viewer.clientWidth / 2; cy = viewer.clientHeight / 2; }
    var s = Math.min(Math.max(view.scale * factor, 0.05), 40);
    view.x = cx - (cx - view.x) * s / view.scale;
    view.y = cy - (cy - view.y) * s / view.scale;
    view.scale = s;
    applyView();
  }
  // Window/level on the display values in [0, 1]: out = (in - (level - window/2)) / window.
  function applyWindow() {
    var level = parseFloat($("level").value), width = parseFloat($("window").value);
    var slope = 1 / width, intercept = -(level - width / 2) / width;
    ["wl-r", "wl-g", "wl-b"].forEach(function (id) {
      $(id).setAttribute("slope", slope.toFixed(4));
      $(id).setAttribute("intercept", intercept.toFixed(4));
    });
  }
  function resetWindow() { $("level").value = 0.5; $("window").value = 1; applyWindow(); }

  function show() {
    var c = cases[state.current];
    var e = entry(c);
    $("case-label").textContent = "Case " + c.case + " of " + cases.length;
    $("report").textContent = c.report;
    $("comment").value = e.comment || "";
    Array.prototype.forEach.call($("rubric").children, function (li) {
      li.classList.toggle("chosen", Number(li.dataset.score) === e.score);
    });
    $("score-state").textContent = e.score ? "Score: " + e.score : "Not scored yet";
    $("progress").textContent = "Scored " + scoredCount() + " of " + cases.length + " \u00b7 case " + (state.current + 1) + " of " + cases.length;
    $("back").disabled = state.current === 0;
    $("next").disabled = state.current === cases.length - 1;
    if (image.getAttribute("src") !== c.image) {
      image.onload = fit;
      image.setAttribute("src", c.image);
    }
  }
  function setScore(score) {
    var c = cases[state.current];
    var e = entry(c);
    state.scores[c.id] = { score: score, comment: e.comment || "" };
    save();
    say("");
    show();
  }
  function go(delta) {
    var target = state.current + delta;
    if (target < 0 || target >= cases.length) {
      say(target < 0 ? "This is the first case." : "This is the last case. Export your scores when every case is scored.");
      return;
    }
    state.current = target;
    save();
    say("");
    show();
  }

  $("reader").value = state.reader;
  $("reader").addEventListener("input", function () { state.reader = this.value.trim(); save(); });
  $("comment").addEventListener("input", function () {
    var c = cases[state.current];
    var e = entry(c);
    state.scores[c.id] = { score: e.score || null, comment: this.value };
    save();
  });
  $("back").addEventListener("click", function () { go(-1); });
  $("next").addEventListener("click", function () { go(1); });
  $("fit").addEventListener("click", fit);
  $("zoom-in").addEventListener("click", function () { zoom(1.25); });
  $("zoom-out").addEventListener("click", function () { zoom(0.8); });
  $("level").addEventListener("input", applyWindow);
  $("window").addEventListener("input", applyWindow);
  $("wl-reset").addEventListener("click", resetWindow);
  window.addEventListener("resize", fit);

  // Pan with the left button, window/level with the right.
  var drag = null;
  viewer.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });
  viewer.addEventListener("mousedown", function (ev) {
    if (ev.target.closest && ev.target.closest("#viewer-tools")) return;
    drag = { button: ev.button, x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y,
             level: parseFloat($("level").value), width: parseFloat($("window").value) };
    viewer.classList.add("dragging");
    ev.preventDefault();
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (drag.button === 2) {
      $("window").value = Math.min(Math.max(drag.width + dx / 400, 0.05), 1);
      $("level").value = Math.min(Math.max(drag.level - dy / 400, 0), 1);
      applyWindow();
    } else {
      view.x = drag.vx + dx; view.y = drag.vy + dy; applyView();
    }
  });
  window.addEventListener("mouseup", function () { drag = null; viewer.classList.remove("dragging"); });
  viewer.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = viewer.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "range"));
    if (typing) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key;
    if (k >= "1" && k <= "5" && k.length === 1) { setScore(Number(k)); }
    else if (k === "n" || k === "N" || k === "ArrowRight" || k === "Enter") { go(1); }
    else if (k === "b" || k === "B" || k === "ArrowLeft") { go(-1); }
    else if (k === "+" || k === "=") { zoom(1.25); }
    else if (k === "-" || k === "_") { zoom(0.8); }
    else if (k === "f" || k === "F" || k === "0") { fit(); }
    else if (k === "r" || k === "R") { resetWindow(); }
    else return;
    ev.preventDefault();
  });

  function exportRecords() {
    return cases.map(function (c) {
      var e = entry(c);
      return { "case": c.case, "id": c.id, "score": e.score || null, "comment": e.comment || "" };
    });
  }
  function download(name, type, text) {
    var blob = new Blob([text], { type: type });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function checkBeforeExport() {
    if (!state.reader) { say("Enter your reader id before exporting."); $("reader").focus(); return false; }
    return true;
  }
  function safeName(text) { return text.replace(/[^A-Za-z0-9_.-]+/g, "_"); }
  function csvField(value) {
    var s = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  $("export-json").addEventListener("click", function () {
    if (!checkBeforeExport()) return;
    var records = exportRecords();
    var body = { format: "cxrcaption-reader-study-scores/1", packet: packet.packet, reader: state.reader,
                 exported: new Date().toISOString(), cases: cases.length,
                 scored: records.filter(function (r) { return r.score; }).length, scores: records };
    var text = JSON.stringify(body, null, 2) + "\n";
    window.readerStudyLastExport = text;
    download("scores-" + safeName(state.reader) + "-" + packet.packet + ".json", "application/json", text);
    say("Exported " + body.scored + " of " + cases.length + " scores as JSON.");
  });
  $("export-csv").addEventListener("click", function () {
    if (!checkBeforeExport()) return;
    var lines = ["packet,reader,case,id,score,comment"];
    exportRecords().forEach(function (r) {
      lines.push([packet.packet, state.reader, r.case, r.id, r.score, r.comment].map(csvField).join(","));
    });
    var text = lines.join("\r\n") + "\r\n";
    window.readerStudyLastExport = text;
    download("scores-" + safeName(state.reader) + "-" + packet.packet + ".csv", "text/csv", text);
    say("Exported scores as CSV.");
  });

  applyWindow();
  show();
})();
</script>
</body>
</html>
"""#
}
