/* CRM board: drag a lead card to another stage column (loaded only by /crm/).
 *
 * HTML5 drag and drop with a mouse; pointer events for touch and pen (HTML5 drag and drop
 * does not start from a touch in most mobile browsers), from the card's grip. A drop posts
 * to the card's stage-change endpoint (the same one its ← / → buttons use) through htmx,
 * which sends the CSRF header from <body hx-headers> and swaps the board fragment; a refused
 * move (409) shows in the page's error area. Only the moves the pipeline allows light up;
 * Lost needs a reason, so it stays with the card's "Kalah…" link. Without JavaScript, and
 * from the keyboard, the buttons do it all.
 */
(function () {
  "use strict";

  var dragged = null;
  document.documentElement.classList.add("crm-dnd"); /* shows the cards' grips */

  function board() { return document.getElementById("lead-board"); }

  function allowedFor(card) {
    return (card.getAttribute("data-allowed") || "").split(" ").filter(Boolean);
  }

  function columnOf(element) {
    return element && element.closest ? element.closest(".board-column[data-status]") : null;
  }

  function markTargets(card) {
    var allowed = allowedFor(card);
    document.querySelectorAll("#lead-board .board-column[data-status]").forEach(function (col) {
      col.classList.toggle("drop-allowed", allowed.indexOf(col.getAttribute("data-status")) >= 0);
    });
  }

  function clearMarks() {
    document.querySelectorAll("#lead-board .drop-allowed, #lead-board .drop-over, #lead-board .dragging")
      .forEach(function (el) { el.classList.remove("drop-allowed", "drop-over", "dragging"); });
  }

  function move(card, status) {
    var root = board();
    if (!root || !window.htmx || allowedFor(card).indexOf(status) < 0) { return; }
    var values = { status: status, view: "board" };
    if (root.getAttribute("data-mine") === "1") { values.milik = "saya"; }
    if (root.getAttribute("data-q")) { values.q = root.getAttribute("data-q"); }
    card.classList.add("moving");
    card.setAttribute("aria-busy", "true");
    window.htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card, target: "#lead-board", swap: "outerHTML", values: values
    }).finally(function () {
      card.classList.remove("moving");
      card.removeAttribute("aria-busy");
    });
  }

  /* -- HTML5 drag and drop (mouse) -- */
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("#lead-board .lead-card[data-move-url]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-lead-id"));
    markTargets(card);
  });

  document.addEventListener("dragover", function (event) {
    var col = columnOf(event.target);
    if (!dragged || !col || !col.classList.contains("drop-allowed")) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll("#lead-board .drop-over").forEach(function (el) {
      if (el !== col) { el.classList.remove("drop-over"); }
    });
    col.classList.add("drop-over");
  });

  document.addEventListener("drop", function (event) {
    var col = columnOf(event.target);
    if (!dragged || !col || !col.classList.contains("drop-allowed")) { return; }
    event.preventDefault();
    var card = dragged;
    dragged = null;
    clearMarks();
    move(card, col.getAttribute("data-status"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    clearMarks();
  });

  /* -- pointer events (touch, pen) from the card's grip -- */
  var touch = null;

  document.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse") { return; }
    var grip = event.target.closest && event.target.closest("#lead-board .card-grip");
    var card = grip && grip.closest(".lead-card[data-move-url]");
    if (!card) { return; }
    event.preventDefault();
    touch = { card: card, id: event.pointerId, over: null };
    grip.setPointerCapture(event.pointerId);
    card.classList.add("dragging");
    markTargets(card);
  });

  document.addEventListener("pointermove", function (event) {
    if (!touch || event.pointerId !== touch.id) { return; }
    var col = columnOf(document.elementFromPoint(event.clientX, event.clientY));
    var over = col && col.classList.contains("drop-allowed") ? col : null;
    if (over !== touch.over) {
      if (touch.over) { touch.over.classList.remove("drop-over"); }
      if (over) { over.classList.add("drop-over"); }
      touch.over = over;
    }
  });

  function endTouch(event, drop) {
    if (!touch || event.pointerId !== touch.id) { return; }
    var card = touch.card;
    var over = touch.over;
    touch = null;
    clearMarks();
    if (drop && over) { move(card, over.getAttribute("data-status")); }
  }

  document.addEventListener("pointerup", function (event) { endTouch(event, true); });
  document.addEventListener("pointercancel", function (event) { endTouch(event, false); });
})();
