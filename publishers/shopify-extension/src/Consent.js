/* Encore's consent checkbox in Shopify checkout. The answer goes into the cart attribute
   encore_consent ("yes" or "no"); Shopify copies cart attributes into the order's note_attributes,
   and Encore's orders/create intake passes the shopper's name, email and shipping address to a
   partner only when it reads "yes" there. Without a tick, offers still show, but none is one-click.
   It must never break checkout: every failure ends quietly, with at most a console.debug line. */
import {extension, Checkbox} from "@shopify/ui-extensions/checkout";

const KEY = "encore_consent";
const LABEL =
  "Share my name, email and shipping address with partner brands so I can add an offer to my order in one click";

export default extension("purchase.checkout.block.render", (root, api) => {
  try {
    mount(root, api);
  } catch (err) {
    quiet(err);
  }
});

function quiet(err) {
  try {
    console.debug("encore:", err);
  } catch (e) {
    /* no console */
  }
}

function mount(root, api) {
  // Some checkouts (draft orders, for one) take no cart attributes: then there is nothing to ask.
  if (api.instructions?.current?.attributes?.canUpdateAttributes === false) return;
  const saved = (api.attributes?.current || []).find((attribute) => attribute.key === KEY);
  let wanted = saved?.value === "yes";
  let queue = Promise.resolve();

  async function save(checked) {
    const result = await api.applyAttributeChange({type: "updateAttribute", key: KEY, value: checked ? "yes" : "no"});
    // Refused (an accelerated checkout such as Apple Pay, for one): show the box as it really is.
    if (result?.type !== "success" && wanted === checked) {
      wanted = !checked;
      box.updateProps({checked: wanted});
      quiet(result?.message || "attribute change refused");
    }
  }

  function onChange(checked) {
    try {
      wanted = checked;
      box.updateProps({checked}); // a controlled checkbox: it shows what was pressed at once
      // One change at a time, in order, so a quick double toggle ends on the shopper's last answer.
      queue = queue.then(() => save(checked)).catch(quiet);
    } catch (err) {
      quiet(err);
    }
  }

  const box = root.createComponent(Checkbox, {id: "encore-consent", name: KEY, checked: wanted, onChange}, LABEL);
  root.appendChild(box);
}
