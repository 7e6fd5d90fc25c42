/* Encore thank-you-page widget: asks the exchange for partner offers that go with this order and shows
   them in a Shadow DOM, so the store's CSS can't reach in and ours can't leak out. It must never break
   the host page: every failure ends quietly, with at most a console.debug line. */
(function () {
  "use strict";
  var w = window, d = document;
  if (w.Encore) return; // included twice: the first copy does the work
  w.Encore = { version: "1" };
  var script = d.currentScript || d.querySelector("script[data-encore-key]");

  function quiet(err) {
    try { console.debug("encore:", err); } catch (e) { /* no console */ }
  }

  function httpUrl(value) {
    if (!value || typeof value !== "string") return "";
    try {
      var u = new URL(value, location.href);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
    } catch (e) { return ""; }
  }

  function el(tag, cls, text) {
    var node = d.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  var STYLE =
    ".w{all:initial;display:block;box-sizing:border-box;" +
    "font:15px/1.45 var(--font,system-ui,-apple-system,'Segoe UI',Roboto,sans-serif);color:var(--fg);" +
    "background:var(--bg);border:1px solid var(--line);border-radius:var(--r);padding:16px;margin:16px 0;" +
    "--fg:#111827;--muted:#4b5563;--bg:#fff;--card:#fff;--line:#e5e7eb;--tag:#f3f4f6;--on:#fff}" +
    ".w.dark{--fg:#f9fafb;--muted:#d1d5db;--bg:#111827;--card:#1f2937;--line:#374151;--tag:#374151}" +
    ".w *{box-sizing:border-box;font:inherit;color:inherit;margin:0;text-transform:none;letter-spacing:normal}" +
    ".hd{display:flex;align-items:center;justify-content:space-between;gap:8px;margin-bottom:12px;flex-wrap:wrap}" +
    ".w h2{font-size:17px;font-weight:600}" +
    ".tag{font-size:12px;font-weight:600;background:var(--tag);border-radius:999px;padding:2px 10px}" +
    ".grid{display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(236px,1fr));" +
    "grid-template-columns:repeat(auto-fit,minmax(min(100%,236px),1fr))}" +
    ".card{display:flex;flex-direction:column;background:var(--card);border:1px solid var(--line);" +
    "border-radius:var(--r);overflow:hidden}" +
    ".media{height:150px;background:#f8fafc;display:flex;align-items:center;justify-content:center}" +
    ".media img{width:100%;height:100%;object-fit:contain;display:block}" +
    ".tile{width:100%;height:100%;display:flex;align-items:center;justify-content:center;color:#fff;" +
    "font-size:40px;font-weight:700}" +
    ".body{display:flex;flex-direction:column;gap:4px;padding:12px;flex:1}" +
    ".brand{font-size:13px;color:var(--muted)}" +
    ".w h3{font-size:15px;font-weight:600;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;" +
    "overflow:hidden}" +
    ".price{font-weight:700}" +
    ".why{font-size:13px;color:var(--muted)}" +
    ".act{display:flex;gap:8px;margin-top:auto;padding-top:8px;flex-wrap:wrap}" +
    ".act a,.act button{min-height:44px;padding:0 16px;border-radius:var(--r);display:inline-flex;align-items:center;" +
    "justify-content:center;font-weight:600;text-decoration:none;cursor:pointer;border:1px solid transparent}" +
    ".act a,.act .buy{background:var(--accent,#2563eb);color:var(--on);flex:1}" +
    ".act .buy{flex-basis:100%}" +
    ".act .more{background:transparent;color:inherit;text-decoration:underline;padding:0 8px;flex:none}" +
    ".act button[disabled]{opacity:.6;cursor:default}" +
    ".ends{font-size:13px;font-weight:600}.ok,.err{font-size:14px;font-weight:600;padding-top:8px}" +
    ".act .no{background:transparent;border-color:var(--muted)}" +
    "a:focus,button:focus{outline:3px solid var(--fg);outline-offset:2px}" +
    "a:focus:not(:focus-visible),button:focus:not(:focus-visible){outline:none}" +
    "@media (max-width:480px){.card{flex-direction:row}.media{width:96px;height:auto;min-height:96px;flex:none}" +
    ".body{padding:10px}}";

  function luminance(rgb) {
    var c = (rgb.match(/[\d.]+/g) || []).slice(0, 3).map(function (v) {
      v = v / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return c.length < 3 ? 0 : 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function applyTheme(box, theme) {
    if (supports("font-family", theme.font)) box.style.setProperty("--font", theme.font);
    if (supports("color", theme.accent)) box.style.setProperty("--accent", theme.accent);
    var r = Number(theme.radius_px);
    box.style.setProperty("--r", (theme.radius_px != null && isFinite(r) ? Math.max(0, Math.min(r, 32)) : 10) + "px");
    if (theme.mode === "dark") box.classList.add("dark");
  }

  function supports(prop, value) {
    try { return typeof value === "string" && w.CSS.supports(prop, value); } catch (e) { return false; }
  }

  function tile(brand) {
    var name = String(brand || "?"), hue = 0;
    for (var i = 0; i < name.length; i++) hue = (hue * 31 + name.charCodeAt(i)) % 360;
    var t = el("div", "tile", name.charAt(0).toUpperCase());
    t.style.background = "hsl(" + hue + ",45%,32%)"; // dark enough for white text at AA
    t.setAttribute("aria-hidden", "true");
    return t;
  }

  // POST with no body: a simple request, so no CORS preflight; it survives the page closing.
  function beacon(url) {
    url = httpUrl(url);
    if (!url) return;
    try { if (navigator.sendBeacon && navigator.sendBeacon(url)) return; } catch (e) { quiet(e); }
    try {
      fetch(url, { method: "POST", mode: "no-cors", credentials: "omit", keepalive: true }).catch(quiet);
    } catch (e) { quiet(e); }
  }

  // A viewable impression (IAB): at least half of the offer on screen, in a visible tab, for 1 s.
  function watchViewable(node, url) {
    if (!url || typeof IntersectionObserver !== "function") return;
    var timer = null;
    var io = new IntersectionObserver(function (entries) {
      var visible = entries[entries.length - 1].intersectionRatio >= 0.5 && !d.hidden;
      if (visible && !timer) {
        timer = setTimeout(function () { io.disconnect(); beacon(url); }, 1000);
      } else if (!visible && timer) {
        clearTimeout(timer);
        timer = null;
      }
    }, { threshold: [0, 0.5, 1] });
    io.observe(node);
  }

  function say(act, cls, text, role) {
    var old = act.parentNode.querySelector(".ok,.err");
    if (old) old.remove();
    var p = el("p", cls, text);
    p.setAttribute("role", role);
    act.parentNode.insertBefore(p, act.nextSibling);
    return p;
  }

  // One click is the shopper's confirmation: the button names what happens and the price. It is
  // disabled while the order is placed, and the exchange places one partner order per offer anyway.
  function buyButton(offer, url, title, price, decisionId, host, act) {
    var b = el("button", "buy", price ? "Add to my order \u00b7 " + price : "Add to my order"), tries = 0;
    b.type = "button";
    b.setAttribute("aria-label", "Add " + title + " to my order" + (price ? ", " + price : ""));
    // While the order is placed, "No thanks" is off and the button keeps its size: a double click's
    // second click must not land on whatever moved under the pointer.
    function busy(on) {
      act.style.pointerEvents = on ? "none" : "";
      act.querySelectorAll(".no").forEach(function (n) { n.disabled = on; });
    }
    function fail(text, retry) {
      busy(false);
      b.disabled = !retry;
      b.textContent = retry ? "Try again" : "Unavailable";
      say(act, "err", text, "alert");
    }
    function send() {
      fetch(url, { method: "POST", mode: "cors", credentials: "omit" })
        .then(function (res) {
          return res.json().catch(function () { return {}; }).then(function (body) {
            if (res.status === 200) {
              var ok = say(act, "ok", "\u2713 " + (body.message || "Ordered."), "status");
              ok.tabIndex = -1;
              act.remove();
              ok.focus(); // the button that had focus is gone: keep the keyboard user in place
              var detail = { decision_id: decisionId, offer_id: offer.offer_id, partner_order_id: body.partner_order_id };
              host.dispatchEvent(new CustomEvent("encore:accept", { detail: detail }));
            } else if (res.status === 202 && ++tries < 6) {
              setTimeout(send, 1000);
            } else {
              fail((body.detail || "The order could not be placed.") + " Nothing was charged.", res.status >= 500);
            }
          });
        })
        .catch(function (e) { quiet(e); fail("The order could not be placed. Nothing was charged.", true); });
    }
    b.onclick = function () {
      if (b.disabled) return;
      b.disabled = true;
      b.style.minWidth = b.offsetWidth + "px";
      b.style.minHeight = b.offsetHeight + "px";
      busy(true);
      b.textContent = "Placing order\u2026";
      tries = 0;
      try { send(); } catch (e) { quiet(e); fail("The order could not be placed.", true); }
    };
    return b;
  }

  // A time-limited offer counts down in minutes (a ticking second hand distracts and floods screen
  // readers); when it ends, the offer can no longer be taken.
  function countdown(body, act, end) {
    if (!isFinite(end) || end - Date.now() > 48 * 3600e3) return;
    var p = el("p", "ends");
    body.appendChild(p);
    function tick() {
      var left = end - Date.now(), m = Math.ceil(left / 60e3);
      if (left <= 0) {
        p.textContent = "This offer has ended";
        act.querySelectorAll("button.buy").forEach(function (b) { b.disabled = true; });
        return;
      }
      p.textContent = "Offer ends in " + (m >= 60 ? Math.floor(m / 60) + "h " + (m % 60) + "m" : m + " min");
      setTimeout(tick, Math.min(30e3, left));
    }
    tick();
  }

  function card(offer, decisionId, host, grid) {
    var title = String(offer.title || ""), href = httpUrl(offer.click_url);
    if (!title || !href) return null;
    var art = el("article", "card"), media = el("div", "media"), body = el("div", "body");
    var src = httpUrl(offer.image_link);
    if (src) {
      var img = el("img");
      img.alt = title;
      img.loading = "lazy";
      img.decoding = "async";
      img.referrerPolicy = "no-referrer";
      img.onerror = function () {
        img.remove();
        media.appendChild(tile(offer.brand));
      };
      img.src = src;
      media.appendChild(img);
    } else {
      media.appendChild(tile(offer.brand));
    }
    var h = el("h3", null, title);
    var price = offer.price && offer.price.display;
    var buyUrl = offer.one_click && httpUrl(offer.accept_url);
    var act = el("div", "act"), a = el("a", buyUrl ? "more" : null, buyUrl ? "Details" : "View offer");
    var no = el("button", "no", "No thanks");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener sponsored";
    a.setAttribute("aria-label", (buyUrl ? "Details of " : "View offer: ") + title);
    if (buyUrl) act.appendChild(buyButton(offer, buyUrl, title, price, decisionId, host, act));
    no.type = "button";
    no.setAttribute("aria-label", "No thanks, hide " + title);
    no.onclick = function () {
      try {
        var next = art.nextElementSibling || art.previousElementSibling;
        art.remove();
        beacon(offer.dismiss_url); // never shown to this shopper again
        var detail = { decision_id: decisionId, offer_id: offer.offer_id };
        host.dispatchEvent(new CustomEvent("encore:dismiss", { detail: detail }));
        if (!grid.children.length) host.style.display = "none";
        else if (next) next.querySelector("a,button").focus();
      } catch (e) { quiet(e); }
    };
    act.appendChild(a);
    act.appendChild(no);
    body.appendChild(el("p", "brand", offer.brand || (offer.partner && offer.partner.name) || ""));
    body.appendChild(h);
    if (price) body.appendChild(el("p", "price", price));
    if (offer.reason) body.appendChild(el("p", "why", offer.reason));
    if (offer.ends_at) countdown(body, act, Date.parse(offer.ends_at));
    body.appendChild(act);
    art.appendChild(media);
    art.appendChild(body);
    return art;
  }

  function render(host, data) {
    var offers = data && Array.isArray(data.offers) ? data.offers : [];
    if (!offers.length || !host.attachShadow || host.shadowRoot) return;
    var box = el("section", "w"), grid = el("div", "grid"), hd = el("div", "hd");
    box.setAttribute("aria-label", "Partner offers");
    hd.appendChild(el("h2", null, "You might also like"));
    hd.appendChild(el("span", "tag", "Partner offer"));
    var shown = [];
    offers.forEach(function (offer) {
      var c = offer && card(offer, data.decision_id, host, grid);
      if (c) {
        grid.appendChild(c);
        shown.push([c, offer.impression_url]);
      }
    });
    if (!grid.children.length) return;
    applyTheme(box, data.theme && typeof data.theme === "object" ? data.theme : {});
    box.appendChild(hd);
    box.appendChild(grid);
    var root = host.attachShadow({ mode: "open" }), style = el("style", null, STYLE);
    root.appendChild(style);
    root.appendChild(box);
    // White text on a light store accent would fail contrast: switch the button text to near-black.
    var bg = getComputedStyle(grid.querySelector(".buy,.act a")).backgroundColor;
    if ((1.05) / (luminance(bg) + 0.05) < 4.5) box.style.setProperty("--on", "#111827");
    shown.forEach(function (pair) { watchViewable(pair[0], pair[1]); });
  }

  function start() {
    var key = script && script.getAttribute("data-encore-key");
    if (!key || typeof fetch !== "function") return quiet("no key or no fetch");
    var base = new URL(script.src, location.href).origin;
    var orderEl = d.getElementById(script.getAttribute("data-encore-order-id") || "encore-order");
    if (!orderEl) return quiet("no order element");
    var order = JSON.parse(orderEl.textContent);
    var sel = script.getAttribute("data-encore-target"), host = sel && d.querySelector(sel);
    if (!host) {
      host = d.createElement("div");
      var parent = script.parentNode && script.parentNode !== d.head ? script.parentNode : d.body;
      parent.insertBefore(host, parent === script.parentNode ? script.nextSibling : null);
    }
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, 3000);
    fetch(base + "/v1/widget/offers", {
      method: "POST",
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({ key: key, order: order }),
      credentials: "omit",
      mode: "cors",
      referrerPolicy: "origin",
      signal: ctrl ? ctrl.signal : undefined,
    })
      .then(function (res) { return res.status === 200 ? res.json() : Promise.reject("HTTP " + res.status); })
      .then(function (data) { clearTimeout(timer); render(host, data); })
      .catch(function (err) { clearTimeout(timer); quiet(err); });
  }

  function safeStart() {
    try { start(); } catch (e) { quiet(e); }
  }

  try {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", safeStart);
    else safeStart();
  } catch (e) { quiet(e); }
})();
