// The page of `ser serve`: drop or record audio, see its emotions over
// time. Talks only to the server that served it (relative URLs).
'use strict';

const model = { card: null, classes: [] };
const $ = (sel, root) => (root || document).querySelector(sel);

// ---- colours: one per class, fixed for the usual emotions ----
const KNOWN = {
  neutral: '#7f8c9a', calm: '#2aa198', happy: '#e6b400', sad: '#3a6fd8',
  angry: '#d63a2f', fearful: '#8e44ad', disgust: '#4c9a2a', surprised: '#f07f13',
};
function colour(label) {
  if (KNOWN[label]) return KNOWN[label];
  const k = Math.max(0, model.classes.indexOf(label));
  return `hsl(${(k * 137) % 360}, 60%, 48%)`;
}
const SILENT_FILL = '#e4e7ec';

// ---- the model card ----
async function loadCard() {
  const r = await fetch('/api/model');
  model.card = await r.json();
  model.classes = model.card.classes || [];
  const c = model.card;
  const est = c.estimate;
  $('#model-line').textContent = `${c.source} ${c.name}: ${model.classes.join(', ')}` +
    (est ? ` · on unseen speakers: UAR ${pc(est.uar)} ± ${pc(est.uar_sd)}` : '');
  const members = (c.run && c.run.optimisation && c.run.optimisation.members) || 1;
  const rows = [['model', `${c.name} (${c.source})` + (members > 1 ? `, a seed ensemble of ${members} models` : '')],
    ['labels', model.classes.join(', ')], ['window', `${(c.window_s || 0).toFixed(2)} s`]];
  if (est) {
    rows.push(['estimate', `UAR ${pc(est.uar)} ± ${pc(est.uar_sd)}, accuracy ${pc(est.accuracy)}, ${est.folds} folds: ${est.protocol}`]);
    rows.push(['recall', (est.recall || []).map(([k, v]) => `${k} ${pc(v)}`).join(', ')]);
    rows.push(['calibration', `temperature ${Number(c.temperature).toFixed(2)}; ECE ${pc(est.ece_before)} → ${pc(est.ece_after)}`]);
  } else {
    rows.push(['estimate', 'none: a run, not a model file (ser model build makes one)']);
  }
  if (c.data) {
    rows.push(['training data', `${c.data.clips} clips of ${(c.data.corpora || []).join(', ')}`]);
    rows.push(['licence', (c.data.licences || []).join(' ')]);
  }
  if (c.ser_version) rows.push(['ser', c.ser_version]);
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dl.append(dt, dd);
  }
  $('#card-body').replaceChildren(dl);
}
// A fraction (a probability) and a number already in percent (the card's).
function pct(x) { return x == null ? '–' : `${(100 * x).toFixed(1)} %`; }
function pc(x) { return x == null ? '–' : `${Number(x).toFixed(1)} %`; }

// ---- files ----
function minConfidence() {
  const v = $('#minconf').value;
  return v === '' ? '' : `&min_confidence=${Math.min(1, Math.max(0, Number(v) / 100))}`;
}

function analyse(file) {
  const sec = $('#result-tpl').content.firstElementChild.cloneNode(true);
  sec.dataset.name = file.name;
  $('.name', sec).textContent = file.name;
  $('#results').prepend(sec);
  const wave = file.arrayBuffer().then(decodeWave).catch(() => null);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', `/api/predict?timeline=1&name=${encodeURIComponent(file.name)}${minConfidence()}`);
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      $('progress', sec).value = e.loaded / e.total;
      $('.status-text', sec).textContent = `uploading… ${Math.round(100 * e.loaded / e.total)} %`;
    }
  };
  xhr.upload.onload = () => {
    $('progress', sec).removeAttribute('value');
    $('.status-text', sec).textContent = 'analysing…';
  };
  xhr.onerror = () => fail(sec, 'the server could not be reached');
  xhr.onload = async () => {
    if (xhr.status !== 200) {
      let why = xhr.responseText;
      try { why = JSON.parse(xhr.responseText).error; } catch (_) { /* not JSON */ }
      fail(sec, why || `HTTP ${xhr.status}`);
      return;
    }
    const rows = xhr.responseText.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    show(sec, rows, await wave);
  };
  xhr.send(file);
}

function fail(sec, why) {
  sec.dataset.state = 'error';
  $('.status', sec).hidden = true;
  const e = $('.error', sec);
  e.textContent = why;
  e.hidden = false;
}

async function decodeWave(buf) {
  const ctx = new OfflineAudioContext(1, 1, 8000);
  const audio = await ctx.decodeAudioData(buf);
  return { data: audio.getChannelData(0), seconds: audio.duration };
}

function show(sec, rows, wave) {
  const segs = rows.filter((r) => !r.summary);
  const summary = rows.find((r) => r.summary) || rows[rows.length - 1];
  sec.dataset.state = 'done';
  sec.rows = rows;
  $('.status', sec).hidden = true;
  $('.answer', sec).hidden = false;
  const label = $('.overall .label', sec);
  label.textContent = summary.label;
  label.style.color = model.classes.includes(summary.label) ? colour(summary.label) : '';
  $('.overall .confidence', sec).textContent = summary.confidence == null ? '' :
    `${pct(summary.confidence)} (calibrated), over ${summary.voiced} voiced of ${summary.segments} segments`;
  const end = Math.max(summary.end_s || 0, ...segs.map((s) => s.end_s));
  const draw = () => {
    if (wave) drawWave($('canvas.wave', sec), wave.data, end);
    else $('canvas.wave', sec).hidden = true;
    drawTimeline($('canvas.timeline', sec), segs, end);
  };
  draw();
  redraws.push(draw);
  $('.legend', sec).replaceChildren(...legend());
  const body = $('table.segments tbody', sec);
  for (const s of segs) {
    const tr = document.createElement('tr');
    tr.dataset.label = s.label;
    for (const v of [s.start_s.toFixed(2), s.end_s.toFixed(2), s.label,
      s.confidence == null ? '–' : s.confidence.toFixed(3)]) {
      const td = document.createElement('td'); td.textContent = v; tr.append(td);
    }
    body.append(tr);
  }
  const base = sec.dataset.name.replace(/\.[^.]*$/, '');
  $('button.csv', sec).onclick = () => download(`${base}.csv`, 'text/csv', csv(segs));
  $('button.json', sec).onclick = () => download(`${base}.json`, 'application/x-ndjson',
    rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

function legend() {
  const items = model.classes.map((c) => {
    const s = document.createElement('span');
    const i = document.createElement('i'); i.style.background = colour(c);
    s.append(i, c); return s;
  });
  const s = document.createElement('span');
  const i = document.createElement('i'); i.style.background = SILENT_FILL;
  s.append(i, 'silence');
  return [...items, s];
}

// ---- drawing (again at the new width when the window changes) ----
const redraws = [];
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => redraws.forEach((f) => f()), 150);
});

function fit(canvas) {
  const w = Math.max(200, canvas.clientWidth || canvas.parentElement.clientWidth || 600);
  const r = window.devicePixelRatio || 1;
  const h = Number(canvas.getAttribute('height'));
  canvas.width = Math.round(w * r);
  canvas.height = Math.round(h * r);
  canvas.style.height = `${h}px`;
  const g = canvas.getContext('2d');
  g.setTransform(r, 0, 0, r, 0, 0);
  return { g, w, h };
}

function drawWave(canvas, data, seconds) {
  const { g, w, h } = fit(canvas);
  // Scaled to its peak: quiet studio speech (-50 dBFS) is still seen.
  let peak = 0;
  for (let i = 0; i < data.length; i++) { const v = Math.abs(data[i]); if (v > peak) peak = v; }
  const k = peak > 0 ? 0.95 / peak : 1;
  g.fillStyle = '#fafbfc'; g.fillRect(0, 0, w, h);
  g.fillStyle = '#5b6577';
  const per = data.length / w;
  for (let x = 0; x < w; x++) {
    let lo = 0, hi = 0;
    const a = Math.floor(x * per), b = Math.min(data.length, Math.floor((x + 1) * per) + 1);
    for (let i = a; i < b; i++) { const v = data[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    g.fillRect(x, h / 2 - hi * k * h / 2, 1, Math.max(1, (hi - lo) * k * h / 2));
  }
  g.font = '11px system-ui';
  const db = peak > 0 ? `${(20 * Math.log10(peak)).toFixed(0)} dBFS` : 'silent';
  g.fillText(`waveform, ${seconds.toFixed(1)} s (peak ${db}, drawn to full height)`, 4, 12);
}

function drawTimeline(canvas, segs, end) {
  const { g, w, h } = fit(canvas);
  const band = 22, top = band + 6, bottom = h - 16;
  const X = (t) => (end > 0 ? (t / end) * w : 0);
  const Y = (p) => bottom - p * (bottom - top);
  g.clearRect(0, 0, w, h);
  segs.forEach((s, k) => {
    const next = k + 1 < segs.length ? segs[k + 1].start_s : s.end_s;
    const x0 = X(s.start_s), x1 = X(Math.max(next, s.start_s));
    g.fillStyle = s.confidence == null ? SILENT_FILL
      : model.classes.includes(s.label) ? colour(s.label) : '#aab2bd';
    g.fillRect(x0, 0, Math.max(1, x1 - x0 - 1), band);
  });
  g.strokeStyle = '#dde1e7'; g.lineWidth = 1;
  for (const p of [0, 0.5, 1]) { g.beginPath(); g.moveTo(0, Y(p)); g.lineTo(w, Y(p)); g.stroke(); }
  model.classes.forEach((c, j) => {
    g.strokeStyle = colour(c); g.lineWidth = 2; g.beginPath();
    let pen = false;
    for (const s of segs) {
      const p = s[c];
      if (p == null) { pen = false; continue; }
      const x = X((s.start_s + s.end_s) / 2), y = Y(p);
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    }
    g.stroke();
    void j;
  });
  g.fillStyle = '#5b6577'; g.font = '11px system-ui';
  const step = niceStep(end, w / 80);
  for (let t = 0; t <= end + 1e-9; t += step) g.fillText(`${+t.toFixed(2)} s`, Math.min(X(t) + 2, w - 34), h - 3);
}

function niceStep(end, n) {
  const raw = end / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// ---- downloads: the columns of `ser predict --timeline --csv` ----
function csv(segs) {
  const cell = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const num = (v, d) => (v == null ? '' : v.toFixed(d));
  const head = ['file', 'start_s', 'end_s', 'label', 'confidence', ...model.classes, 'segment', 'rms_db', 'silent'];
  const lines = [head.join(',')];
  for (const s of segs) {
    lines.push([cell(s.file), num(s.start_s, 3), num(s.end_s, 3), cell(s.label), num(s.confidence, 6),
      ...model.classes.map((c) => num(s[c], 6)), s.segment, s.rms_db == null ? '' : String(s.rms_db),
      String(s.silent)].join(','));
  }
  return lines.join('\n') + '\n';
}

function download(name, type, text) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---- recording: live PCM to /api/live, then the take as a file ----
const rec = { on: false };

async function startRecording() {
  $('#input-error').hidden = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (e) {
    inputError(`the microphone is not available: ${e.message || e.name}`);
    return;
  }
  const ac = new AudioContext();
  await ac.resume();
  const r = await fetch(`/api/live?rate=${ac.sampleRate}`, { method: 'POST' });
  const started = await r.json();
  if (!r.ok) { inputError(started.error); stream.getTracks().forEach((t) => t.stop()); return; }
  Object.assign(rec, {
    on: true, stream, ac, session: started.session, rate: ac.sampleRate, take: [], pending: [],
    pendingN: 0, queue: Promise.resolve(), segs: [], levels: [], t0: performance.now(),
  });
  const src = ac.createMediaStreamSource(stream);
  const proc = ac.createScriptProcessor(4096, 1, 1);
  proc.onaudioprocess = (e) => {
    if (!rec.on) return;
    const x = new Float32Array(e.inputBuffer.getChannelData(0));
    rec.take.push(x);
    rec.pending.push(x);
    rec.pendingN += x.length;
    let ss = 0; for (const v of x) ss += v * v;
    rec.levels.push(Math.sqrt(ss / x.length));
    if (rec.pendingN >= rec.rate / 2) flush();
  };
  src.connect(proc);
  proc.connect(ac.destination);
  rec.src = src; rec.proc = proc;
  $('#live').hidden = false;
  $('#live-rows').replaceChildren();
  $('#live-state').textContent = 'listening';
  $('#live-label').textContent = '…';
  $('#live-conf').textContent = '';
  $('#record').disabled = true;
  $('#stop').disabled = false;
  rec.timer = setInterval(drawLive, 200);
}

function flush() {
  if (!rec.pendingN) return rec.queue;
  const pcm = s16(rec.pending, rec.pendingN);
  rec.pending = []; rec.pendingN = 0;
  const id = rec.session;
  rec.queue = rec.queue.then(() => post(`/api/live/${id}${minConfidence().replace('&', '?')}`, pcm));
  return rec.queue;
}

async function post(url, body) {
  const r = await fetch(url, { method: 'POST', body });
  const text = await r.text();
  if (!r.ok) { inputError(JSON.parse(text).error); return; }
  for (const line of text.split('\n')) if (line.trim()) liveSegment(JSON.parse(line));
}

function liveSegment(s) {
  if (s.summary) {
    $('#live-state').textContent = `recorded ${Number(s.seconds).toFixed(1)} s`;
    $('#live-label').textContent = s.label;
    $('#live-conf').textContent = s.confidence == null ? '' : pct(s.confidence);
    return;
  }
  rec.segs.push(s);
  $('#live-label').textContent = s.label;
  $('#live-conf').textContent = s.confidence == null ? '' : pct(s.confidence);
  const li = document.createElement('li');
  li.dataset.label = s.label;
  li.textContent = `${s.start_s.toFixed(1)}–${s.end_s.toFixed(1)} s: ${s.label}` +
    (s.confidence == null ? '' : ` (${pct(s.confidence)})`);
  $('#live-rows').prepend(li);
  drawLive();
}

function drawLive() {
  const { g, w, h } = fit($('#live-canvas'));
  const span = 30, now = (performance.now() - rec.t0) / 1000, t0 = Math.max(0, now - span);
  const X = (t) => ((t - t0) / span) * w;
  g.clearRect(0, 0, w, h);
  for (const s of rec.segs) {
    g.fillStyle = s.confidence == null ? SILENT_FILL : colour(s.label);
    g.globalAlpha = 0.35;
    g.fillRect(X(s.start_s), 0, Math.max(1, X(s.end_s) - X(s.start_s)), h);
  }
  g.globalAlpha = 1;
  const per = 4096 / rec.rate;
  g.fillStyle = '#1d2430';
  rec.levels.forEach((v, k) => {
    const t = k * per;
    if (t < t0) return;
    // Level in dB, -80..0 dBFS: quiet speech (-50 dBFS) is still seen.
    const y = Math.max(0, Math.min(1, (20 * Math.log10(v + 1e-9) + 80) / 80)) * (h / 2);
    g.fillRect(X(t), h / 2 - y, Math.max(1, (per / span) * w - 1), Math.max(1, 2 * y));
  });
}

async function stopRecording() {
  if (!rec.on) return;
  rec.on = false;
  clearInterval(rec.timer);
  $('#stop').disabled = true;
  rec.stream.getTracks().forEach((t) => t.stop());
  rec.proc.disconnect(); rec.src.disconnect();
  await flush();
  await rec.queue;
  await post(`/api/live/${rec.session}/end${minConfidence().replace('&', '?')}`, '');
  await rec.ac.close();
  $('#record').disabled = false;
  const n = rec.take.reduce((a, x) => a + x.length, 0);
  if (n > 0) {
    const name = `recording-${new Date().toISOString().replace(/[:.]/g, '-')}.wav`;
    analyse(new File([wav(rec.take, n, rec.rate)], name, { type: 'audio/wav' }));
  }
}

function s16(chunks, n) {
  const out = new Int16Array(n);
  let k = 0;
  for (const x of chunks) for (const v of x) out[k++] = Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
  return out.buffer;
}

function wav(chunks, n, rate) {
  const pcm = new Uint8Array(s16(chunks, n));
  const b = new ArrayBuffer(44 + pcm.length);
  const d = new DataView(b);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) d.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); d.setUint32(4, 36 + pcm.length, true); str(8, 'WAVE');
  str(12, 'fmt '); d.setUint32(16, 16, true); d.setUint16(20, 1, true); d.setUint16(22, 1, true);
  d.setUint32(24, rate, true); d.setUint32(28, rate * 2, true); d.setUint16(32, 2, true); d.setUint16(34, 16, true);
  str(36, 'data'); d.setUint32(40, pcm.length, true);
  new Uint8Array(b, 44).set(pcm);
  return b;
}

function inputError(why) {
  const e = $('#input-error');
  e.textContent = why;
  e.hidden = false;
}

// ---- wiring ----
function files(list) { for (const f of list) analyse(f); }
$('#files').addEventListener('change', (e) => { files(e.target.files); e.target.value = ''; });
const drop = $('#drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); files(e.dataTransfer.files); });
$('#record').addEventListener('click', () => { startRecording().catch((e) => inputError(String(e))); });
$('#stop').addEventListener('click', () => { stopRecording().catch((e) => inputError(String(e))); });
loadCard().catch((e) => { $('#model-line').textContent = `the model card could not be read: ${e}`; });
