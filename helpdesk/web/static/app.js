/* Progressive enhancement for the helpdesk pages. Everything works without it. No inline script. */
"use strict";

(function () {
  var POLL_MS = 15000;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  /* Queue: new tickets appear without a reload (polling). */
  function queuePolling() {
    var box = document.getElementById("new-tickets");
    if (!box) { return; }
    var latest = parseInt(box.dataset.latest || "0", 10);
    var seen = [];
    function tick() {
      getJSON(box.dataset.poll + "?after=" + latest).then(function (data) {
        if (data.tickets && data.tickets.length) {
          latest = data.latest;
          data.tickets.forEach(function (t) { seen.push(t); });
          box.textContent = "";
          var text = document.createElement("span");
          text.textContent = seen.length + " nouveau(x) ticket(s) : " +
            seen.slice(-3).map(function (t) { return "#" + t.number + " " + t.subject; }).join(" · ") + " ";
          var link = document.createElement("a");
          link.href = window.location.pathname + window.location.search;
          link.textContent = "Actualiser la file";
          box.appendChild(text);
          box.appendChild(link);
          box.hidden = false;
        }
      }).catch(function () { /* the next tick retries */ });
    }
    window.setInterval(tick, POLL_MS);
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

  /* Ticket: warn when someone else writes on the ticket or has it open. */
  function ticketActivity() {
    var root = document.querySelector("[data-ticket]");
    if (!root) { return; }
    var number = root.dataset.ticket, after = root.dataset.lastMessage || "0";
    var banner = document.getElementById("activity"), presence = document.getElementById("presence");
    function tick() {
      getJSON("/tickets/" + number + "/activity?after=" + after).then(function (data) {
        if (data.messages && data.messages.length) {
          banner.textContent = "Nouveau depuis l'ouverture de la page : " + data.messages.map(function (m) {
            return m.author + (m.direction === "inbound" ? " (message)" : m.direction === "note" ? " (note)" : " (réponse)");
          }).join(", ") + ". Rechargez la page avant de répondre.";
          banner.hidden = false;
        }
        if (data.viewers && data.viewers.length) {
          presence.textContent = "Également sur ce ticket : " + data.viewers.join(", ") + ".";
          presence.hidden = false;
        } else {
          presence.hidden = true;
        }
      }).catch(function () { /* retried at the next tick */ });
    }
    window.setInterval(tick, POLL_MS);
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
    queuePolling();
    selectAll();
    insertButtons();
    ticketActivity();
    instantSearch();
  });
})();
