// The demo shop's own code (templates/demo/site.html): what a customer's page would write
// around the SDK. A file, not an inline script, so the page runs under our Content-Security-Policy.
"use strict";
const LABELS = { ask: "Ask", allowed: "Allowed", blocked: "Blocked", unsupported: "Unsupported" };
const statusOutput = document.getElementById("push-status");

function log(text) {
  const item = document.createElement("li");
  item.textContent = text;
  document.getElementById("log").append(item);
}

// Shows the outcome once Clarion has answered, so what the page says is stored.
async function run(label, call) {
  try {
    const result = await call();
    log(`${label}: ok`);
    return result;
  } catch (error) {
    log(`${label}: ${error.message}`);
    throw error;
  }
}

// A function a Web Exit Intent campaign's button can call ("demoShop.openCoupon").
window.demoShop = { openCoupon: (campaignId) => log(`coupon opened (campaign ${campaignId})`) };

// Pop-ups on exit intent, the Back button included (clarion.js header),
// and the soft-onboarding banner of a running Push permission request.
Clarion.init({
  ...JSON.parse(document.getElementById("clarion-options").textContent),
  popups: { backButton: true },
  onboarding: true,
});
run("push status", () => Clarion.pushStatus()).then(
  (status) => { statusOutput.textContent = LABELS[status]; },
  () => { statusOutput.textContent = "not reported"; },
);

document.getElementById("enable-push").addEventListener("click", async () => {
  const categories = [...document.querySelectorAll("input[name=category]:checked")].map((box) => box.value);
  try {
    const status = await run("request push", () => Clarion.requestPush({ categories }));
    statusOutput.textContent = LABELS[status];
  } catch (error) {
    statusOutput.textContent = "not subscribed";
  }
});

document.getElementById("identify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const account = document.getElementById("identity").selectedOptions[0];
  const identity = account.value;
  // The demo's server signed each account's identity, as a customer's server signs
  // its signed-in user's: the demo Site verifies identities like any new site.
  const signed = { identityHash: account.dataset.identityHash };
  const name = document.getElementById("name").value.trim();
  const customerType = document.getElementById("customer-type").value;
  const fields = {};
  if (name) fields.name = name;
  // A custom property, as a shop would send its loyalty tier: pop-ups "by user property" read it.
  if (customerType) fields.properties = { customer_type: customerType };
  try {
    await run(`identify ${identity}`, () => Clarion.identify(identity, Object.keys(fields).length ? fields : undefined, signed));
    document.getElementById("identified-as").textContent = identity;
  } catch (error) { /* logged */ }
});

document.getElementById("track-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = document.getElementById("event-name").value.trim();
  run(`track ${name}`, () => Clarion.track(name)).catch(() => {});
});

for (const button of document.querySelectorAll("button[data-sku]")) {
  button.addEventListener("click", () => {
    const properties = { sku: button.dataset.sku, price: Number(button.dataset.price) };
    run(`track Added To Cart ${properties.sku}`, () => Clarion.track("Added To Cart", properties)).catch(() => {});
  });
}
