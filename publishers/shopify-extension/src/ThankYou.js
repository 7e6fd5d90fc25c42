/* Encore's offers on Shopify's thank-you page. The orders/create webhook already had Encore decide
   this order's offers; this block fetches them with the checkout's session token and shows them with
   Shopify's checkout components (so they follow the store's checkout branding; the answer's `theme`
   is for widget.js and is not used here). It must never break the thank-you page: every failure
   renders nothing, with at most a console.debug line. */
import {
  extension,
  Banner,
  BlockStack,
  Button,
  Heading,
  Image,
  InlineLayout,
  InlineStack,
  Link,
  Text,
} from "@shopify/ui-extensions/checkout";

const ATTEMPTS = 6; // the first request and 5 retries, while the webhook has not reached Encore yet
const RETRY_MS = 1000;
const REQUEST_MS = 3000;
const TICK_MS = 30000;
const SORRY = "We couldn't add this to your order. Please try again.";

export default extension("purchase.thank-you.block.render", (root, api) => {
  // Not returned: Shopify waits for a returned promise before it mounts the block, and asking for
  // the offers may take a few seconds. The offers are added to the mounted block when they come.
  start(root, api).catch(quiet);
});

function quiet(err) {
  try {
    console.debug("encore:", err);
  } catch (e) {
    /* no console */
  }
}

// A callback that can't throw into Shopify's renderer.
function safe(fn) {
  return (...args) => {
    try {
      fn(...args);
    } catch (err) {
      quiet(err);
    }
  };
}

function httpUrl(value) {
  if (typeof value !== "string" || !value) return "";
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch (e) {
    return "";
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// POST with a text/plain body, or none: a simple request, so the browser sends no CORS preflight.
async function post(url, body) {
  const ctrl = typeof AbortController === "function" ? new AbortController() : null;
  const timer = setTimeout(() => ctrl && ctrl.abort(), REQUEST_MS);
  const init = {method: "POST", credentials: "omit", signal: ctrl ? ctrl.signal : undefined};
  if (body != null) {
    init.headers = {"Content-Type": "text/plain;charset=UTF-8"};
    init.body = body;
  }
  try {
    return await fetch(url, init);
  } finally {
    clearTimeout(timer);
  }
}

// Fire and forget: impressions and dismissals.
function beacon(value) {
  const url = httpUrl(value);
  if (url) post(url).catch(quiet);
}

async function start(root, api) {
  const settings = api.settings.current || {};
  const base = httpUrl(String(settings.encore_url || "").trim()).replace(/\/+$/, "");
  const storeId = String(settings.store_id || "").trim();
  if (!base || !storeId) return quiet("set encore_url and store_id in the checkout editor");
  const orderId = await currentOrderId(api);
  if (!orderId) return quiet("no order id");
  const url = `${base}/v1/shopify/${encodeURIComponent(storeId)}/offers`;
  render(root, await fetchOffers(api, url, orderId));
}

// The order id is normally there when the block starts; wait a little in case it is not yet.
function currentOrderId(api) {
  const now = api.orderConfirmation.current?.order?.id;
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    let stop = () => {};
    const finish = (id) => {
      clearTimeout(timer);
      stop();
      resolve(id);
    };
    const timer = setTimeout(finish, REQUEST_MS, "");
    stop = api.orderConfirmation.subscribe((next) => next?.order?.id && finish(next.order.id));
  });
}

// 404 means the orders/create webhook has not reached Encore yet; it usually comes within seconds
// of the order, so ask again a few times before giving up.
async function fetchOffers(api, url, orderId) {
  for (let attempt = 1; ; attempt++) {
    const token = await api.sessionToken.get(); // Shopify caches it while it is valid
    const res = await post(url, JSON.stringify({session_token: token, order_id: orderId}));
    if (res.status === 200) return res.json();
    if (res.status !== 404 || attempt >= ATTEMPTS) throw new Error(`offers: HTTP ${res.status}`);
    await sleep(RETRY_MS);
  }
}

function render(root, data) {
  const offers = data && Array.isArray(data.offers) ? data.offers : [];
  const list = root.createComponent(BlockStack, {spacing: "base"});
  const block = root.createComponent(BlockStack, {spacing: "base"}, [
    root.createComponent(InlineStack, {spacing: "tight", blockAlignment: "center"}, [
      root.createComponent(Heading, {level: 2}, "You might also like"),
      root.createComponent(Text, {size: "small", appearance: "subdued"}, "Partner offer"),
    ]),
    list,
  ]);
  let left = 0;
  const remove = (node) => {
    list.removeChild(node);
    left -= 1;
    if (left === 0) root.removeChild(block);
  };
  const cards = offers.map((offer) => (offer && typeof offer === "object" ? card(root, offer, remove) : null));
  const shown = cards.filter(Boolean);
  if (!shown.length) return quiet("no offers to show");
  for (const each of shown) list.appendChild(each.node);
  left = shown.length;
  root.appendChild(block);
  for (const each of shown) each.shown();
}

// "1h 05m", "12m": rounded up, so it never says 0m while the offer is still open.
function duration(ms) {
  const minutes = Math.ceil(ms / 60000);
  const hours = Math.floor(minutes / 60);
  return hours ? `${hours}h ${String(minutes % 60).padStart(2, "0")}m` : `${minutes}m`;
}

function card(root, offer, remove) {
  const title = typeof offer.title === "string" ? offer.title : "";
  const clickUrl = httpUrl(offer.click_url);
  const acceptUrl = offer.one_click === true ? httpUrl(offer.accept_url) : "";
  const ends = offer.ends_at == null ? null : Date.parse(offer.ends_at);
  if (!title || !clickUrl) return null;
  if (ends !== null && !(ends > Date.now())) return null; // over already, or unreadable
  const price = (offer.price && offer.price.display) || "";
  const {details, countdown} = describe(root, offer, title, price, ends !== null);
  const actions = root.createComponent(InlineStack, {spacing: "tight", blockAlignment: "center"});
  const footer = root.createComponent(BlockStack, {spacing: "tight"}, [actions]);
  const node = frame(root, httpUrl(offer.image_link), title, details, footer);
  let gone = false;
  const hide = () => {
    if (gone) return;
    gone = true;
    if (clock) clock.stop();
    remove(node);
  };
  const clock = countdown ? ticker(ends, countdown.text, hide) : null;
  const bought = (message) => {
    if (clock) clock.stop(); // the countdown no longer matters
    if (countdown) details.removeChild(countdown.node);
    footer.replaceChildren(root.createComponent(Banner, {status: "success"}, message || "Added to your order."));
  };
  const label = price ? `Add to my order · ${price}` : "Add to my order";
  const link = {to: clickUrl, external: true, accessibilityLabel: `View offer: ${title}`};
  actions.appendChild(
    acceptUrl
      ? acceptButton(root, acceptUrl, label, footer, () => gone, bought)
      : root.createComponent(Link, link, "View offer"),
  );
  const dismiss = () => {
    if (gone) return;
    hide();
    beacon(offer.dismiss_url); // Encore never shows this product to this shopper again
  };
  const no = {kind: "secondary", accessibilityLabel: `No thanks, hide ${title}`, onPress: safe(dismiss)};
  actions.appendChild(root.createComponent(Button, no, "No thanks"));
  const shown = () => {
    if (clock) clock.start();
    // Checkout extensions run in a sandbox without IntersectionObserver, so the viewable beacon is
    // sent on render: viewability from extensions is an approximation (docs/integrations.md).
    beacon(offer.impression_url);
  };
  return {node, shown};
}

// "Ends in 1h 05m", updated every 30 s; over() when the offer ends.
function ticker(ends, line, over) {
  let timer = null;
  const stop = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const tick = safe(() => {
    const rest = ends - Date.now();
    if (rest <= 0) return over();
    line.updateText(`Ends in ${duration(rest)}`);
    timer = setTimeout(tick, Math.min(TICK_MS, rest));
  });
  return {start: tick, stop};
}

// The offer's box: the image (if any) beside the details and the actions.
function frame(root, src, title, details, footer) {
  const body = root.createComponent(BlockStack, {spacing: "base"}, [details, footer]);
  const image = {source: src, accessibilityDescription: title, aspectRatio: 1, fit: "contain"};
  const row = src
    ? root.createComponent(InlineLayout, {columns: [96, "fill"], spacing: "base", blockAlignment: "start"}, [
        root.createComponent(Image, image),
        body,
      ])
    : body;
  return root.createComponent(BlockStack, {border: "base", cornerRadius: "base", padding: "base"}, [row]);
}

// Brand, title, price, the reason it was chosen, and an empty countdown line if the offer ends.
function describe(root, offer, title, price, timeLimited) {
  const text = (content, props = {}) => root.createComponent(Text, props, content);
  const details = root.createComponent(BlockStack, {spacing: "extraTight"});
  const brand = offer.brand || (offer.partner && offer.partner.name) || "";
  if (brand) details.appendChild(text(String(brand), {size: "small", appearance: "subdued"}));
  details.appendChild(text(title, {emphasis: "bold"}));
  if (price) details.appendChild(text(String(price)));
  if (offer.reason) details.appendChild(text(String(offer.reason), {size: "small", appearance: "subdued"}));
  if (!timeLimited) return {details, countdown: null};
  const line = root.createText("");
  const node = text([line], {size: "small"});
  details.appendChild(node);
  return {details, countdown: {node, text: line}};
}

// The one-click button: POSTs accept_url once per press (disabled while in flight, so a double tap
// sends once); a refusal shows the problem's detail under it and the button works again.
function acceptButton(root, url, label, footer, isGone, bought) {
  let busy = false;
  let problem = null;
  const fail = (message) => {
    problem = root.createComponent(Banner, {status: "critical"}, message || SORRY);
    footer.appendChild(problem);
    button.updateProps({loading: false, disabled: false});
    busy = false;
  };
  const press = () => {
    if (busy || isGone()) return;
    busy = true;
    button.updateProps({loading: true, disabled: true});
    if (problem) footer.removeChild(problem);
    problem = null;
    placeOrder(url)
      .then(
        safe((answer) => {
          if (answer.status === 200 && answer.body.status === "confirmed") return bought(answer.body.message);
          fail(answer.body.detail || answer.body.message);
        }),
      )
      .catch((err) => {
        quiet(err);
        safe(fail)();
      });
  };
  const button = root.createComponent(Button, {kind: "primary", onPress: safe(press)}, label);
  return button;
}

// 202 means another request is placing the same order: Encore places it once however often it is
// asked, so ask again shortly. The answer is the JSON body, or {} when there is none to read.
async function placeOrder(url) {
  for (let attempt = 1; ; attempt++) {
    const res = await post(url);
    let body = {};
    try {
      body = (await res.json()) || {};
    } catch (e) {
      /* not JSON */
    }
    if (res.status !== 202 || attempt >= ATTEMPTS) return {status: res.status, body};
    await sleep(RETRY_MS);
  }
}
