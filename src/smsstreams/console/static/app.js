// smsstreams console: the little behaviour the pages need beyond htmx.
// Dialogs, copy buttons, chips and header rows, live logs, the webhook secret, local times.
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  var toastTimer = null;
  function toast(message) {
    var el = $("#toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("is-visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove("is-visible"); }, 2600);
  }

  // ---- copy ---------------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy") ? resolve() : reject(new Error("copy refused")); }
      catch (err) { reject(err); }
      finally { area.remove(); }
    });
  }

  function onCopy(button) {
    var source = $(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source && source.tagName === "INPUT" ? source.value : source.textContent;
    var label = button.querySelector("span");
    copyText(text).then(function () {
      button.classList.add("is-copied");
      if (label) label.textContent = "Copied";
      toast("Copied to the clipboard");
      setTimeout(function () {
        button.classList.remove("is-copied");
        if (label) label.textContent = "Copy";
      }, 1800);
    }, function () {
      if (source.select) source.select();
      toast("Press Ctrl+C to copy");
    });
  }

  // ---- clicks ---------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-open-dialog], [data-close-dialog], [data-copy], [data-remove-chip], [data-remove-row], [data-add-row], [data-reveal], [data-show-message]");
    if (!target) return;
    if (target.hasAttribute("data-open-dialog")) {
      var dialog = document.getElementById(target.getAttribute("data-open-dialog"));
      if (dialog && !dialog.open) dialog.showModal();
    } else if (target.hasAttribute("data-close-dialog")) {
      var open = target.closest("dialog");
      if (open) open.close();
    } else if (target.hasAttribute("data-copy")) {
      onCopy(target);
    } else if (target.hasAttribute("data-remove-chip")) {
      var chip = target.closest(".chip");
      var list = chip && chip.parentElement;
      var field = list && list.closest(".field");
      if (chip) chip.remove();
      var input = field && field.querySelector("input[data-enter-click]");
      if (input) input.focus();
    } else if (target.hasAttribute("data-remove-row")) {
      var row = target.closest(".header-row");
      var rows = row && row.parentElement;
      if (row) row.remove();
      if (rows && !rows.children.length) addRow($("#header-row-template"), rows, false);
      else if (rows) { var last = rows.querySelector(".header-row:last-child input"); if (last) last.focus(); }
    } else if (target.hasAttribute("data-add-row")) {
      addRow($(target.getAttribute("data-add-row")), $(target.getAttribute("data-target")), true);
    } else if (target.hasAttribute("data-reveal")) {
      reveal(target);
    } else if (target.hasAttribute("data-show-message")) {
      event.preventDefault();
      if (!showMessage(target.getAttribute("data-show-message"))) {
        toast("That message is not in the log above (filtered, or older than the newest 50).");
      }
    }
  });

  // A secret shown as dots until asked for; Copy works either way.
  function reveal(button) {
    var input = $(button.getAttribute("data-reveal"));
    if (!input) return;
    var shown = input.type === "password";
    input.type = shown ? "text" : "password";
    button.textContent = shown ? "Hide" : "Reveal";
  }

  // "In reply to" in the inbound list: open that message in the log and bring it into view.
  function showMessage(uuid) {
    var row = document.getElementById("message-" + uuid);
    if (!row) return false;
    row.open = true;
    row.classList.add("is-highlighted");
    setTimeout(function () { row.classList.remove("is-highlighted"); }, 2400);
    row.scrollIntoView({ block: "center", behavior: "smooth" });
    var summary = row.querySelector("summary");
    if (summary) summary.focus({ preventScroll: true });
    return true;
  }

  function addRow(template, container, focus) {
    if (!template || !container) return;
    container.appendChild(template.content.cloneNode(true));
    if (focus) {
      var input = container.querySelector(".header-row:last-child input");
      if (input) input.focus();
    }
  }

  // Enter in "Add IP" / "Tags" adds the entry instead of submitting the whole form.
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches("[data-enter-click]")) return;
    event.preventDefault();
    var button = $(input.getAttribute("data-enter-click"));
    if (button) button.click();
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-new-sender]")) {
      var box = $(el.getAttribute("data-new-sender"));
      if (box) {
        box.hidden = el.value !== "__new__";
        if (!box.hidden) { var field = box.querySelector("input"); if (field) field.focus(); }
      }
    }
    if (el.matches("[data-autosubmit]") && el.form) el.form.requestSubmit();
    var param = el.matches("#status-filter") ? "status" : el.matches("#delivery-state-filter") ? "state" : null;
    if (param) {
      var url = new URL(window.location.href);
      if (el.value) url.searchParams.set(param, el.value); else url.searchParams.delete(param);
      history.replaceState(null, "", url.toString());
    }
  });

  // ---- dialogs that open with the page (the token, shown once) --------------------------
  function openOnLoad() {
    $$("dialog[data-open-on-load]").forEach(function (dialog) {
      if (!dialog.open) dialog.showModal();
      var done = dialog.getAttribute("data-done-url");
      if (done) {
        // The page came from a POST: make a reload land on the stream, not repeat the POST.
        history.replaceState(null, "", done);
        dialog.addEventListener("cancel", function (event) {
          event.preventDefault();
          var button = dialog.querySelector("#token-done");
          if (button) button.click();
        });
      }
      var input = dialog.querySelector("#token-value");
      if (input) { input.focus(); input.select(); }
    });
  }

  // ---- times in the reader's zone -------------------------------------------------------
  var formats = window.Intl ? {
    date: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
    precise: new Intl.DateTimeFormat(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 1
    }),
    short: new Intl.DateTimeFormat(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"
    }),
    clock: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
  } : null;
  function localTimes(root) {
    if (!formats || !root || !root.querySelectorAll) return;
    $$("time[data-local]", root).forEach(function (el) {
      if (el.hasAttribute("data-localized")) return;
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) {
        el.title = el.textContent;
        el.textContent = (formats[el.getAttribute("data-local")] || formats.date).format(date);
        el.setAttribute("data-localized", "");
      }
    });
  }

  // ---- htmx glue ------------------------------------------------------------------------
  function wireHtmx() {
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var elt = event.detail.elt;
      var xhr = event.detail.xhr;
      if (!event.detail.successful || !xhr) return;
      var retargeted = xhr.getResponseHeader("HX-Retarget");
      var clear = elt.getAttribute && elt.getAttribute("data-clear");
      if (clear) {
        var input = $(clear);
        if (input) {
          if (!retargeted) { input.value = ""; input.removeAttribute("aria-invalid"); }
          else input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      }
      if (!retargeted && elt.hasAttribute && elt.hasAttribute("data-applied")) {
        var entry = $("#tag-entry");
        elt.remove();
        if (entry) entry.focus();
      }
    });
    // The live logs (messages, inbound, webhook deliveries) refresh themselves: an unchanged
    // answer is not swapped in; otherwise open rows stay open and focus stays in place.
    var openIds = [];
    var focused = null;  // selectors to put the focus back on, first found wins
    function summaryOf(details) { return 'details[data-id="' + details.getAttribute("data-id") + '"] > summary'; }
    // A poll waits while the tab is hidden or a dialog inside its region is open.
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (elt.hasAttribute("data-poll") && (document.hidden || elt.querySelector("dialog[open]"))) {
        event.preventDefault();
      }
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (!target || !target.hasAttribute("data-poll") || !event.detail.shouldSwap) return;
      var text = event.detail.serverResponse;
      if (event.detail.elt === target && text === target.__lastPoll) { event.detail.shouldSwap = false; return; }
      target.__lastPoll = event.detail.elt === target ? text : null;
      openIds = $$("details[open]", target).map(function (d) { return d.getAttribute("data-id"); });
      var active = document.activeElement;
      focused = [];
      if (active && target.contains(active)) {
        if (active.id) focused.push("#" + CSS.escape(active.id));
        if (active.tagName === "SUMMARY" && active.parentElement.getAttribute("data-id")) {
          focused.push(summaryOf(active.parentElement));
        }
        // else, or when it is gone (a Replay button), the summary of its row
        var box = active.closest(".delivery-row") || active.closest("details[data-id]");
        var row = box && (box.matches("details[data-id]") ? box : box.querySelector("details[data-id]"));
        if (row) focused.push(summaryOf(row));
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (target && target.hasAttribute("data-poll")) {
        openIds.forEach(function (id) {
          var d = id && target.querySelector('details[data-id="' + id + '"]');
          if (d) d.open = true;
        });
        for (var i = 0; focused && i < focused.length; i++) {
          var again = target.querySelector(focused[i]);
          if (again) { again.focus(); break; }
        }
        focused = null;
      }
    });
    document.body.addEventListener("toast", function (event) {
      if (event.detail && event.detail.value) toast(event.detail.value);
    });
    document.body.addEventListener("htmx:load", function (event) { localTimes(event.detail.elt); });
    document.body.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail.xhr;
      toast(xhr.status === 403 ? "Your session expired: reload the page." : "Something went wrong (" + xhr.status + "). Try again.");
    });
    document.body.addEventListener("htmx:sendError", function () { toast("The server cannot be reached."); });
  }

  function init() {
    localTimes(document);
    openOnLoad();
    if (window.htmx) wireHtmx();
    var invalid = $("[aria-invalid='true']");
    if (invalid && !$("dialog[open]")) invalid.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
