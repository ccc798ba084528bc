// smsstreams console: the little behaviour the pages need beyond htmx.
// Dialogs, copy buttons, chips and header rows, live message log, local times.
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
    var target = event.target.closest("[data-open-dialog], [data-close-dialog], [data-copy], [data-remove-chip], [data-remove-row], [data-add-row]");
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
    }
  });

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
    if (el.matches("#status-filter")) {
      var url = new URL(window.location.href);
      if (el.value) url.searchParams.set("status", el.value); else url.searchParams.delete("status");
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
    })
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
    // Keep open timelines open and focus in place while the log refreshes itself.
    var openIds = [];
    var focusedId = null;
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.detail.elt.hasAttribute("data-poll") && document.hidden) event.preventDefault();
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (!target || target.id !== "message-log") return;
      openIds = $$("details[open]", target).map(function (d) { return d.getAttribute("data-id"); });
      var active = document.activeElement;
      var row = active && target.contains(active) ? active.closest("details") : null;
      focusedId = row ? row.getAttribute("data-id") : null;
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (target && target.id === "message-log") {
        openIds.forEach(function (id) {
          var d = target.querySelector('details[data-id="' + id + '"]');
          if (d) d.open = true;
        });
        if (focusedId) {
          var s = target.querySelector('details[data-id="' + focusedId + '"] > summary');
          if (s) s.focus();
        }
      }
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
