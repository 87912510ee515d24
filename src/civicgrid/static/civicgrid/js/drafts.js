/* 随手拍 on a weak network: send with fetch, keep what fails in IndexedDB, retry with the same draft_id.
 *
 * Progressive enhancement: without this script the form posts normally. With it, a submission that
 * cannot reach the server is stored on the phone (fields and files) and sent again on page load and
 * when the phone comes back online, always with the same draft_id, so the server creates one case
 * however many times a draft arrives. Validation errors are shown, never retried.
 */
(function () {
  "use strict";

  var ctx = document.getElementById("mobile-context");
  if (!ctx || !window.fetch || !window.FormData || !window.Promise) return;

  var USER = ctx.getAttribute("data-user") || "";
  var DB_NAME = "civicgrid-drafts";
  var STORE = "drafts";
  var TIMEOUT_MS = 90000; // a few photos over a weak 3G link
  var RETRY_EVERY_MS = 120000;
  var NOT_STORED = { csrfmiddlewaretoken: true }; // a stale token is replaced by the current one
  var inFlight = {};

  function t(key, values) {
    var text = ctx.getAttribute("data-t-" + key) || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  /* ---- storage ---------------------------------------------------------------------------- */

  var dbPromise = null;
  function openDb() {
    if (!window.indexedDB) return Promise.reject(new Error("no indexedDB"));
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "id" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function putDraft(draft) { return withStore("readwrite", function (s) { return s.put(draft); }); }
  function deleteDraft(id) { return withStore("readwrite", function (s) { return s.delete(id); }); }
  function getDraft(id) { return withStore("readonly", function (s) { return s.get(id); }); }
  function myDrafts() {
    return withStore("readonly", function (s) { return s.getAll(); }).then(function (all) {
      // Drafts belong to whoever was signed in when they were saved; never send them as someone else.
      return (all || []).filter(function (d) { return d.user === USER; })
        .sort(function (a, b) { return a.savedAt - b.savedAt; });
    });
  }

  /* ---- sending ---------------------------------------------------------------------------- */

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // done: the server stored it (2xx); invalid: it refused the content (shown, not retried);
  // auth: signed out or token stale (kept, retried after login); retry: network or server trouble.
  function send(url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) clearTimeout(timer);
      return classify(response);
    }, function () {
      if (timer) clearTimeout(timer);
      return { kind: "retry" };
    });
  }

  function classify(response) {
    var status = response.status;
    if (response.redirected) return { kind: "auth" }; // the login page answered instead of us
    if (status === 401 || status === 403) return { kind: "auth" };
    if (status === 408 || status === 429 || status >= 500) return { kind: "retry" };
    return response.json().then(function (body) {
      return { kind: response.ok ? "done" : "invalid", body: body };
    }, function () {
      // Not our JSON: a proxy's page. A 2xx still means stored; a 4xx will not pass by retrying.
      return { kind: response.ok ? "done" : "invalid", body: { errors: { __all__: [t("invalid")] } } };
    });
  }

  /* ---- drafts <-> form data --------------------------------------------------------------- */

  function recordedVoice(form) {
    // voice.js keeps the recording here when the browser cannot put it into the file input.
    var input = form.querySelector("[data-voice-recorder]") &&
      document.getElementById(form.querySelector("[data-voice-recorder]").getAttribute("data-input"));
    return input && (!input.files || !input.files.length) && input.civicgridRecording
      ? { name: input.name, file: input.civicgridRecording } : null;
  }

  function formData(form) {
    var data = new FormData(form);
    var voice = recordedVoice(form);
    if (voice) data.append(voice.name, voice.file, voice.file.name);
    return data;
  }

  function draftFrom(form, data) {
    var fields = [];
    var files = [];
    var reads = [];
    data.forEach(function (value, name) {
      if (NOT_STORED[name]) return;
      if (typeof value === "string") { fields.push([name, value]); return; }
      if (!value.size && !value.name) return; // an empty file input
      // ArrayBuffers store everywhere; some older Safari versions fail on Blobs in IndexedDB.
      reads.push(readBytes(value).then(function (bytes) {
        files.push([name, { name: value.name, type: value.type, bytes: bytes }]);
      }));
    });
    return Promise.all(reads).then(function () {
      var id = (fields.filter(function (f) { return f[0] === "draft_id"; })[0] || [])[1];
      return {
        id: id, user: USER, url: form.action, savedAt: Date.now(), fields: fields, files: files,
        state: "pending", tries: 0, errors: null
      };
    });
  }

  function readBytes(blob) {
    if (typeof blob.arrayBuffer === "function") return blob.arrayBuffer();
    return new Promise(function (resolve, reject) { // Safari before 14
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(blob);
    });
  }

  function dataFrom(draft) {
    var data = new FormData();
    draft.fields.forEach(function (f) { data.append(f[0], f[1]); });
    draft.files.forEach(function (f) {
      data.append(f[0], new Blob([f[1].bytes], { type: f[1].type }), f[1].name);
    });
    return data;
  }

  function newDraftId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  /* ---- retrying stored drafts ------------------------------------------------------------- */

  function retryDraft(draft) {
    if (inFlight[draft.id]) return Promise.resolve();
    inFlight[draft.id] = true;
    shown.forEach(function (d) { if (d.id === draft.id) d.state = "uploading"; });
    render();
    return send(draft.url, dataFrom(draft)).then(function (result) {
      delete inFlight[draft.id];
      if (result.kind === "done") {
        say(t("uploaded", { number: result.body.number || "" }), result.body.url);
        return deleteDraft(draft.id);
      }
      draft.tries += 1;
      draft.state = result.kind === "invalid" ? "invalid" : result.kind === "auth" ? "auth" : "pending";
      draft.errors = result.kind === "invalid" ? result.body.errors || null : null;
      return putDraft(draft);
    }).then(refresh, refresh);
  }

  function retryAll() {
    if (navigator.onLine === false) return Promise.resolve();
    return myDrafts().then(function (drafts) {
      // One at a time: on a weak link, parallel uploads all time out together.
      return drafts.filter(function (d) { return d.state !== "invalid"; }).reduce(function (chain, d) {
        return chain.then(function () { return retryDraft(d); });
      }, Promise.resolve());
    }).catch(function () { /* no storage: nothing was saved, nothing to retry */ });
  }

  /* ---- showing drafts --------------------------------------------------------------------- */

  var shown = [];
  function refresh() {
    return myDrafts().then(function (drafts) { shown = drafts; render(); }, function () { shown = []; render(); });
  }

  function render() {
    var count = shown.length;
    document.querySelectorAll("[data-draft-count]").forEach(function (el) {
      el.textContent = String(count);
      el.hidden = count === 0;
    });
    var list = document.querySelector("[data-drafts-list]");
    if (!list) return;
    list.textContent = "";
    shown.forEach(function (draft) { list.appendChild(item(draft)); });
    var empty = document.querySelector("[data-drafts-empty]");
    if (empty) empty.hidden = count > 0;
  }

  var STATE_WORDS = { pending: "pending", uploading: "uploading", invalid: "needs-fix", auth: "needs-login" };

  function item(draft) {
    var li = el("li", "draft pending");
    var text = (draft.fields.filter(function (f) { return f[0] === "description"; })[0] || [])[1];
    li.appendChild(el("p", "summary", (text || t("no-text")).slice(0, 60)));
    var facts = [t("saved-at", { time: when(draft.savedAt) }),
      t("files", { count: draft.files.length })];
    if (draft.tries) facts.push(t("tries", { count: draft.tries }));
    li.appendChild(el("p", "muted", facts.join(" · ")));
    li.appendChild(el("span", "badge orange", t(STATE_WORDS[draft.state] || "pending")));
    if (draft.errors) li.appendChild(errorList(draft.errors));
    li.appendChild(buttons(draft));
    return li;
  }

  function when(ms) {
    try {
      return new Date(ms).toLocaleString(document.documentElement.lang || undefined);
    } catch (e) {
      return new Date(ms).toLocaleString(); // an unknown page language tag
    }
  }

  function buttons(draft) {
    var row = el("div", "shortcuts");
    if (draft.state === "invalid") {
      var open = el("a", "button primary", t("open"));
      open.href = (ctx.getAttribute("data-snap-url") || "") + "?draft=" + encodeURIComponent(draft.id);
      row.appendChild(open);
    } else {
      row.appendChild(button(t("upload-now"), "primary", function () { retryDraft(draft); }));
    }
    if (draft.state === "auth") {
      var login = el("a", "button", t("login"));
      login.href = (ctx.getAttribute("data-login-url") || "/login/") + "?next=" + encodeURIComponent(location.pathname);
      row.appendChild(login);
    }
    row.appendChild(button(t("delete"), "", function () {
      if (window.confirm(t("confirm-delete"))) deleteDraft(draft.id).then(refresh);
    }));
    return row;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(text, className, onClick) {
    var node = el("button", className, text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function errorList(errors) {
    var ul = el("ul", "errorlist");
    Object.keys(errors).forEach(function (field) {
      (errors[field] || []).forEach(function (message) { ul.appendChild(el("li", "", message)); });
    });
    return ul;
  }

  var statusBox = document.querySelector("[data-snap-status]");
  function say(message, link) {
    if (!statusBox) return;
    statusBox.textContent = message;
    if (link) {
      statusBox.appendChild(document.createTextNode(" "));
      var a = el("a", "", "›");
      a.href = link;
      statusBox.appendChild(a);
    }
    statusBox.hidden = false;
  }

  /* ---- the 随手拍 form -------------------------------------------------------------------- */

  var form = document.querySelector("form[data-snap-form]");
  var busy = false;

  function clearErrors() {
    form.querySelectorAll(".errorlist[data-from-js]").forEach(function (ul) { ul.remove(); });
  }

  function showErrors(errors) {
    Object.keys(errors || {}).forEach(function (field) {
      var ul = errorList({ x: errors[field] });
      ul.setAttribute("data-from-js", "");
      var input = form.elements[field];
      var anchor = input && (input.length && !input.tagName ? input[input.length - 1] : input);
      var box = anchor && anchor.closest(".choices");
      (box || anchor || statusBox || form).insertAdjacentElement("afterend", ul);
    });
  }

  function startAfresh(id) {
    form.reset();
    clearErrors();
    form.elements.draft_id.value = newDraftId();
    form.removeAttribute("data-from-draft");
    return id;
  }

  function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    clearErrors();
    var submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    var data = formData(form);
    var reopened = form.getAttribute("data-from-draft");
    say(t("sending"));
    var attempt = navigator.onLine === false ? Promise.resolve({ kind: "retry" }) : send(form.action, data);
    attempt.then(function (result) {
      if (result.kind === "done") {
        var forget = reopened ? deleteDraft(reopened) : Promise.resolve();
        return forget.then(function () { location.assign(result.body.url); });
      }
      if (result.kind === "invalid") {
        say(t("invalid"));
        showErrors(result.body.errors);
        return null;
      }
      return keep(data, result.kind);
    }).catch(function () {
      say(t("no-storage"));
    }).then(function () {
      busy = false;
      if (submit) submit.disabled = false;
    });
  }

  function keep(data, kind) {
    return draftFrom(form, data).then(function (draft) {
      draft.state = kind === "auth" ? "auth" : "pending";
      return putDraft(draft);
    }).then(function () {
      say(t(kind === "auth" ? "auth" : "saved"), ctx.getAttribute("data-drafts-url"));
      startAfresh();
      return refresh();
    });
  }

  function reopen(id) {
    return getDraft(id).then(function (draft) {
      if (!draft || draft.user !== USER) return;
      form.setAttribute("data-from-draft", draft.id);
      fill(draft);
      say(t("opened"));
      if (draft.errors) showErrors(draft.errors);
    }).catch(function () { /* nothing stored */ });
  }

  function fill(draft) {
    draft.fields.forEach(function (f) {
      var field = form.elements[f[0]];
      if (!field) return;
      var many = field.length !== undefined && !field.tagName ? field : [field];
      Array.prototype.forEach.call(many, function (input) {
        if (input.type === "checkbox" || input.type === "radio") input.checked = input.value === f[1];
        else if (input.type !== "file") input.value = f[1];
      });
      if (field.type === "checkbox") field.dispatchEvent(new Event("change"));
    });
    var byName = {};
    draft.files.forEach(function (f) {
      (byName[f[0]] = byName[f[0]] || []).push(new File([f[1].bytes], f[1].name, { type: f[1].type }));
    });
    Object.keys(byName).forEach(function (name) {
      var input = form.elements[name];
      if (!input || !window.DataTransfer) return;
      try {
        var transfer = new DataTransfer();
        byName[name].forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
      } catch (e) { /* the worker picks the photos again */ }
    });
  }

  if (form) {
    form.addEventListener("submit", onSubmit);
    var wanted = new URLSearchParams(location.search).get("draft");
    if (wanted) reopen(wanted);
  }

  window.addEventListener("online", retryAll);
  setInterval(retryAll, RETRY_EVERY_MS);
  refresh().then(retryAll);
})();
