// Agentic Executor dashboard: the little JavaScript the server-rendered pages need.
//  - forms with data-api send JSON to the API and show its errors next to the fields they name;
//  - a session page follows its server-sent events and re-renders its live parts;
//  - a page with data-poll re-renders its live parts every few seconds until it stops asking.
"use strict";

(function () {
  var EVENT_TYPES = [
    "session_created", "enqueued", "status_changed", "tool_call", "iteration_completed", "budget_warning",
    "completion_claimed", "completion_rejected", "completion_approved", "gate_result", "checkpoint",
    "workspace_restored", "reservations_recovered", "review_approved", "review_rejected",
    "review_rejection_not_queued", "prompt_injection_detected", "pause_requested", "cancel_requested",
    "resumed", "session_failed", "budget_added", "content_redacted", "hook_failed", "model_call_failed"
  ];

  // ---- forms -> the JSON API ----------------------------------------------------------------

  function formBody(form) {
    var body = {};
    var rows = {}; // tasks.N.* of convoy rows, gathered before deciding which rows are empty
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button") return;
      var value = el.value;
      var match = /^(\w+)\.(\d+)\.(\w+)$/.exec(el.name);
      if (match) {
        var key = match[1] + "." + match[2];
        rows[key] = rows[key] || { list: match[1], index: Number(match[2]), fields: {} };
        rows[key].fields[match[3]] = value.trim();
        return;
      }
      if (el.dataset.type === "number") {
        if (value.trim() === "") return;
        var number = Number(value);
        body[el.name] = isNaN(number) ? value : number;
      } else if (el.dataset.type === "lines") {
        body[el.name] = value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
      } else if (el.dataset.optional !== undefined && value.trim() === "") {
        return;
      } else {
        body[el.name] = value;
      }
    });
    // rows with every field empty are not sent; remember where each sent row came from
    var origin = {};
    Object.keys(rows).map(function (k) { return rows[k]; })
      .sort(function (a, b) { return a.index - b.index; })
      .forEach(function (row) {
        var filled = Object.keys(row.fields).some(function (f) { return row.fields[f] !== ""; });
        if (!filled) return;
        body[row.list] = body[row.list] || [];
        origin[row.list + "." + body[row.list].length] = row.list + "." + row.index;
        body[row.list].push(row.fields);
      });
    Object.keys(rows).forEach(function (k) {
      var list = rows[k].list;
      if (!body[list]) body[list] = [];
    });
    return { body: body, origin: origin };
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for], .form-error").forEach(function (p) {
      p.hidden = true;
      p.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showFieldError(form, field, message, origin) {
    // the API names fields as paths: budget, tasks.0.title, acceptanceCriteria.2
    var parts = field.split(".");
    if (parts.length >= 2 && origin[parts[0] + "." + parts[1]]) {
      parts.splice(0, 2, origin[parts[0] + "." + parts[1]]);
      field = parts.join(".");
    }
    for (var path = field; path; path = path.indexOf(".") >= 0 ? path.slice(0, path.lastIndexOf(".")) : "") {
      var slot = form.querySelector('[data-error-for="' + path + '"]');
      if (slot) {
        slot.textContent = slot.hidden ? message : slot.textContent + " " + message;
        slot.hidden = false;
        var input = form.querySelector('[name="' + path + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
        return input || slot;
      }
    }
    return null;
  }

  function showErrors(form, status, payload, origin) {
    var error = (payload && payload.error) || { message: "The server answered " + status + "." };
    var details = error.details || {};
    var items = details.errors || (details.field ? [{ field: details.field, message: error.message }] : []);
    var first = null;
    items.forEach(function (item) {
      var target = showFieldError(form, String(item.field), item.message, origin);
      first = first || target;
    });
    if (!first) {
      var box = form.querySelector(".form-error");
      if (box) {
        box.textContent = error.message;
        box.hidden = false;
      }
    }
    if (first && first.focus) first.focus();
  }

  function submitForm(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-api]")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    clearErrors(form);
    var built = formBody(form);
    var button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(built.body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (payload) {
        if (button) button.disabled = false;
        if (!response.ok) return showErrors(form, response.status, payload, built.origin);
        var then = form.dataset.then;
        if (then === "session") window.location.assign("/ui/sessions/" + encodeURIComponent(payload.taskId));
        else if (then === "convoy") window.location.assign("/ui/convoys/" + encodeURIComponent(payload.convoyId));
        else if (document.querySelector("[data-live]")) refresh(true);
        else window.location.reload();
      });
    }).catch(function () {
      if (button) button.disabled = false;
      showErrors(form, 0, { error: { message: "The server could not be reached: try again." } }, {});
    });
  }

  document.addEventListener("submit", submitForm);

  // ---- live parts -----------------------------------------------------------------------------

  var busy = false;
  var again = false;
  var timer = null;

  function dirty(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) return true;
    return Array.prototype.some.call(region.querySelectorAll("textarea, input:not([type=hidden])"), function (el) {
      return el.value !== el.defaultValue;
    });
  }

  function note(text) {
    var live = document.getElementById("live-note");
    if (live && text) live.textContent = text;
  }

  function refresh(force) {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (!next || (!force && dirty(region))) return;
          region.replaceWith(document.importNode(next, true));
        });
        var first = document.querySelector("#timeline .ev .ev-title");
        if (first) note("Latest: " + first.textContent);
        if (document.body.dataset.poll && !fresh.body.dataset.poll) stopPolling();
      })
      .catch(function () { /* the next event or tick tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) return;
    timer = window.setTimeout(function () { timer = null; refresh(false); }, 250);
  }

  var poller = null;
  function stopPolling() {
    if (poller) window.clearInterval(poller);
    poller = null;
    delete document.body.dataset.poll;
  }

  function start() {
    var body = document.body;
    if (body.dataset.events && window.EventSource) {
      var url = body.dataset.events + "?after=" + encodeURIComponent(body.dataset.after || "0");
      var source = new EventSource(url);
      EVENT_TYPES.forEach(function (type) { source.addEventListener(type, schedule); });
      source.onmessage = schedule;
    }
    if (body.dataset.poll) {
      poller = window.setInterval(function () { refresh(false); }, Number(body.dataset.poll) || 2000);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
