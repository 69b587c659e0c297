/* Progressive enhancement for the helpdesk pages. Everything works without it. No inline script. */
"use strict";

(function () {
  var POLL_MS = 15000;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function postForm(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() },
                        body: body });
  }

  /* A live stream (server-sent events) with polling as the fallback: while the stream is open the page
     polls only as often as the server's « hello » says (a safety net), every 15 s when it drops.
     root.dataset.live says which is on ("on" or "off"); root.dataset.polls counts the polls. */
  function liveOrPoll(root, url, handlers, poll) {
    var timer = null, every = 0, source = null;
    function counted() { root.dataset.polls = String(parseInt(root.dataset.polls || "0", 10) + 1); poll(); }
    function pollEvery(ms) {
      if (timer && every === ms) { return; }
      if (timer) { window.clearInterval(timer); }
      every = ms;
      timer = window.setInterval(counted, ms);
    }
    root.dataset.live = "off";
    pollEvery(POLL_MS);
    if (!window.EventSource) { return; }
    function on(name, handler) {
      source.addEventListener(name, function (e) {
        var data = {};
        try { data = JSON.parse(e.data); } catch (err) { /* ignored */ }
        handler(data);
      });
    }
    function connect() {
      source = new EventSource(url);
      on("hello", function (data) {
        root.dataset.live = "on";
        pollEvery(Math.max(POLL_MS, (data.poll || 15) * 1000));
        counted();  /* catch up with what happened before the stream opened */
      });
      source.onerror = function () {
        root.dataset.live = "off";
        pollEvery(POLL_MS);
        /* The browser reconnects by itself, except after a refusal (too many streams): try later. */
        if (source.readyState === EventSource.CLOSED) { window.setTimeout(connect, 60000); }
      };
      Object.keys(handlers).forEach(function (name) { on(name, handlers[name]); });
    }
    connect();
    window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  }

  /* Queue: new tickets and changes appear without a reload (live stream, else polling). */
  function queueLive() {
    var box = document.getElementById("new-tickets");
    if (!box) { return; }
    var latest = parseInt(box.dataset.latest || "0", 10);
    var seen = [];
    function show() {
      box.textContent = "";
      var text = document.createElement("span");
      if (seen.length) {
        text.textContent = seen.length + " nouveau(x) ticket(s) : " +
          seen.slice(-3).map(function (t) { return "#" + t.number + " " + t.subject; }).join(" · ") + " ";
      } else {
        text.textContent = "Des tickets ont changé depuis l'affichage de la file. ";
      }
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Actualiser la file";
      box.appendChild(text);
      box.appendChild(link);
      box.hidden = false;
    }
    function tick() {
      getJSON(box.dataset.poll + "?after=" + latest).then(function (data) {
        if (data.tickets && data.tickets.length) {
          latest = data.latest;
          data.tickets.forEach(function (t) { seen.push(t); });
          show();
        }
      }).catch(function () { /* the next tick retries */ });
    }
    liveOrPoll(box, "/queue/live", {
      queue: function (data) {
        if (data.kind !== "queue" && data.kind !== "resync") { show(); }
        tick();
      }
    }, tick);
  }

  /* Queue: select every row for bulk actions. */
  function selectAll() {
    var all = document.querySelector("[data-select-all]");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=numbers]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  /* Ticket: one click inserts a suggested or canned answer into the reply box, for editing. */
  function insertButtons() {
    var area = document.getElementById("reply-text");
    if (!area) { return; }
    document.querySelectorAll("[data-insert]").forEach(function (button) {
      button.addEventListener("click", function () {
        var tpl = document.getElementById(button.dataset.insert);
        if (!tpl) { return; }
        var text = tpl.content ? tpl.content.textContent : tpl.textContent;
        var start = area.selectionStart || 0, end = area.selectionEnd || 0;
        if (area.value && start === 0 && end === 0) { start = end = area.value.length; text = "\n\n" + text; }
        area.value = area.value.slice(0, start) + text + area.value.slice(end);
        area.focus();
        area.selectionStart = area.selectionEnd = start + text.length;
        /* An inserted FAQ entry is sent with the reply: the requester's question may become one of its wordings. */
        var entry = button.dataset.faqEntry, form = area.form;
        if (entry && form && !form.querySelector("input[name=faq_inserted][value='" + entry + "']")) {
          var marker = document.createElement("input");
          marker.type = "hidden";
          marker.name = "faq_inserted";
          marker.value = entry;
          form.appendChild(marker);
        }
      });
    });
  }

  /* Ticket: warn when someone else writes on the ticket, has it open or is typing a reply (live stream,
     else polling); tell the others when I view it or type. */
  function ticketActivity() {
    var root = document.querySelector("[data-ticket]");
    if (!root) { return; }
    var number = root.dataset.ticket, after = root.dataset.lastMessage || "0";
    var banner = document.getElementById("activity"), presence = document.getElementById("presence");
    var base = "/tickets/" + number;
    function showPresence(text) {
      presence.textContent = text || "";
      presence.hidden = !text;
    }
    function tick() {
      getJSON(base + "/activity?after=" + after).then(function (data) {
        if (data.messages && data.messages.length) {
          banner.textContent = "Nouveau depuis l'ouverture de la page : " + data.messages.map(function (m) {
            return m.author + (m.direction === "inbound" ? " (message)" : m.direction === "note" ? " (note)" : " (réponse)");
          }).join(", ") + ". Rechargez la page avant de répondre.";
          banner.hidden = false;
        }
        if (typeof data.viewers === "string") { showPresence(data.viewers); }
      }).catch(function () { /* retried at the next tick */ });
    }
    liveOrPoll(root, base + "/live", {
      presence: function (data) { showPresence(data.text); },
      activity: function () { tick(); }
    }, tick);
    /* Heartbeats: « viewing » every 10 s while the page is shown, « typing » at most every 3 s. */
    function beat(state) { postForm(base + "/presence", { state: state }).catch(function () { /* next beat */ }); }
    beat("viewing");  /* after the previous page's « left » (a reload after sending, a second tab) */
    window.setInterval(function () { if (!document.hidden) { beat("viewing"); } }, 10000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { beat("viewing"); } });
    var area = document.getElementById("reply-text"), lastTyping = 0;
    if (area) {
      area.addEventListener("input", function () {
        var now = Date.now();
        if (now - lastTyping > 3000) { lastTyping = now; beat("typing"); }
      });
    }
    window.addEventListener("pagehide", function () {
      if (navigator.sendBeacon) {
        var body = new FormData();
        body.append("csrf_token", csrfToken());
        body.append("state", "left");
        navigator.sendBeacon(base + "/presence", body);
      }
    });
  }

  /* Public FAQ: instant results while typing. */
  function instantSearch() {
    var input = document.querySelector("[data-instant]");
    var list = document.getElementById("faq-results");
    if (!input || !list) { return; }
    var timer = null, last = "";
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var q = input.value.trim();
        if (q === last) { return; }
        last = q;
        if (q.length < 3) { list.textContent = ""; return; }
        getJSON(input.dataset.instant + "?q=" + encodeURIComponent(q)).then(function (data) {
          if (q !== last) { return; }
          list.textContent = "";
          data.results.forEach(function (r) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = "/faq/" + encodeURIComponent(r.id);
            a.textContent = r.title;
            var p = document.createElement("p");
            p.textContent = r.snippet;
            li.appendChild(a);
            li.appendChild(p);
            list.appendChild(li);
          });
        }).catch(function () { /* the form still works */ });
      }, 200);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    queueLive();
    selectAll();
    insertButtons();
    ticketActivity();
    instantSearch();
  });
})();
