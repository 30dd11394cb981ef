// Racik: the little behaviour htmx does not cover. Everything works without this file.
(function () {
  "use strict";
  // Elements marked .js-hidden (fallback submit buttons) are only needed without JavaScript.
  document.documentElement.classList.add("js");

  // --- htmx on intent (base.html: data-htmx-on-intent): a page whose htmx requests all
  // start from the user (typing, a change, a click: no load or polling triggers) gets
  // htmx (17 KB on the wire) only when the user reaches for such a control (hover, focus,
  // touch, key), not on the first load. A click or submit on an htmx control made while
  // htmx is still on its way waits for it and is then replayed (htmx handles it); if htmx
  // cannot be loaded, the control does what it does without JavaScript.
  var htmxSource = document.currentScript && document.currentScript.getAttribute("data-htmx-on-intent");
  var HX = "[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete]";
  if (htmxSource && !window.htmx) {
    var htmxState = "idle"; // idle -> waiting (for the page's load) -> loading -> ready | failed
    var pending = null; // {kind: "click" | "submit", target, submitter}
    var typed = null; // a field typed in before htmx was ready

    var replay = function () {
      var action = pending;
      pending = null;
      if (typed) {
        var text = typed.matches("input:not([type=checkbox]):not([type=radio]), textarea");
        typed.dispatchEvent(new Event(text ? "input" : "change", { bubbles: true }));
        typed = null;
      }
      if (!action) return;
      if (action.kind === "submit") {
        action.target.requestSubmit(action.submitter || undefined);
      } else {
        action.target.click();
      }
    };

    var inject = function () {
      htmxState = "loading";
      var script = document.createElement("script");
      script.src = htmxSource;
      script.onload = function () { htmxState = "ready"; replay(); };
      script.onerror = function () { htmxState = "failed"; replay(); };
      document.head.appendChild(script);
    };

    var want = function (event) {
      if (htmxState !== "idle" || !event.target.closest || !event.target.closest(HX)) return;
      htmxState = "waiting";
      // htmx initialises itself at DOMContentLoaded or at once when the page is complete:
      // never in between.
      if (document.readyState === "complete") inject();
      else window.addEventListener("load", inject);
    };
    ["mouseover", "focusin", "touchstart", "pointerdown", "keydown"].forEach(function (type) {
      document.addEventListener(type, want, { capture: true, passive: true });
    });
    document.addEventListener("input", function (event) {
      if (htmxState !== "ready" && event.target.closest && event.target.closest(HX)) {
        typed = event.target;
      }
    }, true);
    // Hold a click or submit on an htmx control until htmx is there to send it.
    var hold = function (event) {
      if (htmxState === "ready" || htmxState === "failed" || !event.target.closest) return;
      var form = event.type === "submit" ? event.target : null;
      var elt = form ? form.closest(HX) : event.target.closest(HX);
      if (!elt) return;
      if (event.type === "click" && event.target.closest("button, input[type=submit]")) return;
      want(event);
      event.preventDefault();
      event.stopPropagation();
      pending = form ? { kind: "submit", target: form, submitter: event.submitter }
        : { kind: "click", target: event.target.closest("a, button") || event.target };
    };
    document.addEventListener("click", hold, true);
    document.addEventListener("submit", hold, true);
  }

  // --- header menus (<details data-menu>): they open without script; this only closes
  // them on a click outside, on Escape, and closes a sibling menu when one opens.
  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll("details[data-menu][open]"));
  }

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
    openMenus().forEach(function (other) {
      if (other !== menu && !other.contains(menu)) other.open = false;
    });
  }, true);

  function closeMenuOnEscape(event) {
    var menus = openMenus();
    if (!menus.length) return false;
    // The innermost open menu closes first; the focus goes back to its summary.
    var menu = menus[menus.length - 1];
    menu.open = false;
    var summary = menu.querySelector("summary");
    if (summary) summary.focus();
    event.preventDefault();
    return true;
  }

  // Click-to-edit: Escape in an inline edit form follows its cancel link (htmx re-GETs
  // the display row); Enter submits the form natively.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form[data-cancel]");
    if (form) {
      var cancel = document.querySelector(form.getAttribute("data-cancel"));
      if (cancel) {
        event.preventDefault();
        cancel.click();
      }
      return;
    }
    closeMenuOnEscape(event);
  });

  // A swapped-in edit row takes the focus (autofocus does not fire on swapped content).
  document.addEventListener("htmx:afterSwap", function () {
    var input = document.querySelector("form.inline-edit input[name=stok]");
    if (input) {
      input.focus();
      input.select();
    }
  });

  // --- htmx feedback: the pressed control shows it is busy (and cannot be pressed twice);
  // a failed request says so in #htmx-error, in the page's language (base.html renders
  // the texts), with a "Coba lagi" button that sends the same request again. A failure
  // never swaps the form away, so nothing typed is lost.
  var failed = null; // {elt, submitter, verb, path, event}

  function errorBox() {
    return document.getElementById("htmx-error");
  }

  function pressedControl(detail) {
    var config = detail.requestConfig || {};
    var trigger = config.triggeringEvent;
    if (trigger && trigger.submitter) return trigger.submitter;
    var elt = detail.elt;
    if (!elt) return null;
    if (elt.tagName === "FORM") {
      // A form sent by a change or a poll has no pressed control; a submit has one.
      if (!trigger || trigger.type !== "submit") return null;
      return elt.querySelector("button:not([type]), button[type=submit], input[type=submit]");
    }
    if (trigger && (trigger.type === "click" || trigger.type === "submit")) return elt;
    return null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail;
    if (failed && failed.elt === detail.elt) clearFailure();
    var control = pressedControl(detail);
    if (!control || !detail.xhr) return;
    control.setAttribute("aria-busy", "true");
    control.classList.add("is-busy");
    // Buttons cannot be pressed twice; a text field keeps its focus and stays editable.
    if (control.matches("button, input[type=submit]") && !control.disabled) {
      control.disabled = true;
      control.racikDisabled = true;
    }
    detail.xhr.racikControl = control;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var control = xhr && xhr.racikControl;
    if (control) {
      xhr.racikControl = null;
      control.removeAttribute("aria-busy");
      control.classList.remove("is-busy");
      if (control.racikDisabled) {
        control.disabled = false;
        control.racikDisabled = false;
      }
    }
    if (event.detail.successful && failed && failed.elt === event.detail.elt) clearFailure();
  });

  function remember(detail) {
    var config = detail.requestConfig || {};
    var trigger = config.triggeringEvent;
    failed = {
      elt: config.elt || detail.elt,
      submitter: trigger && trigger.submitter,
      verb: config.verb || "get",
      path: config.path || (detail.pathInfo && detail.pathInfo.requestPath),
      eventType: trigger && trigger.type,
    };
  }

  function clearFailure() {
    var box = errorBox();
    if (box && box.getAttribute("data-failure")) {
      box.removeAttribute("data-failure");
      box.replaceChildren();
    }
    failed = null;
  }

  function retryButton(box) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small button-secondary htmx-retry";
    button.setAttribute("data-testid", "htmx-retry");
    button.textContent = box.getAttribute("data-msg-retry") || "Coba lagi";
    return button;
  }

  function showFailure(kind, detail) {
    var box = errorBox();
    if (!box) return;
    remember(detail);
    var message = document.createElement("div");
    message.className = "flash flash-error htmx-failure";
    var text = document.createElement("span");
    text.textContent = box.getAttribute("data-msg-" + kind) || "";
    message.appendChild(text);
    message.appendChild(retryButton(box));
    box.replaceChildren(message);
    box.setAttribute("data-failure", kind);
  }

  document.addEventListener("htmx:sendError", function (event) {
    showFailure("network", event.detail);
  });
  document.addEventListener("htmx:timeout", function (event) {
    showFailure("timeout", event.detail);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (status < 400 || status === 422) return;
    var box = errorBox();
    if (!box || detail.target !== box) return; // the route chose where its error goes
    var body = detail.xhr.responseText || "";
    if (body.indexOf("data-code=") === -1) {
      // Not one of our error fragments (a proxy's page, an empty body): our own words.
      detail.shouldSwap = false;
      showFailure(status >= 500 ? "server" : "client", detail);
      return;
    }
    remember(detail);
    box.setAttribute("data-failure", String(status));
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = errorBox();
    if (event.detail.target !== box || !box.getAttribute("data-failure")) return;
    var fragment = box.firstElementChild;
    if (fragment && !fragment.querySelector(".htmx-retry")) {
      fragment.appendChild(document.createTextNode(" "));
      fragment.appendChild(retryButton(box));
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".htmx-retry");
    if (!button || !failed) return;
    var again = failed;
    clearFailure();
    var elt = again.elt;
    if (!elt || !elt.isConnected) {
      window.location.reload();
      return;
    }
    if (elt.tagName === "FORM" && again.eventType === "submit") {
      var submitter = again.submitter;
      if (submitter && submitter.isConnected && submitter.form === elt) {
        elt.requestSubmit(submitter);
      } else {
        elt.requestSubmit();
      }
    } else if (again.eventType === "click") {
      elt.click();
    } else if (window.htmx && again.path) {
      window.htmx.ajax(again.verb.toUpperCase(), again.path, { source: elt });
    }
  });
})();
