// Spaces web client: boots from config.json, signs in, and routes between the Spaces list and a
// Space (#/spaces/<id>).
import { Api } from "./api.js";
import { alertBanner, announce } from "./announce.js";
import { currentSession, finishHostedUi, signInLocally, signOut, startHostedUi } from "./auth.js";
import { Discovery } from "./discovery.js";
import { h, replace } from "./dom.js";
import { Room, setWantsIncognito, wantsIncognito } from "./room.js";

const view = document.getElementById("view");
const sessionBar = document.getElementById("session");
let config = null;
let session = null;
let api = null;
let current = null; // the open Discovery or Room

async function boot() {
  const response = await fetch(new URL("./config.json", import.meta.url));
  config = await response.json();
  try {
    session = (await finishHostedUi(config)) || currentSession();
  } catch (err) {
    session = null;
    alertBanner(err.message);
  }
  api = new Api(config.api_base_url, () => session && session.token);
  window.addEventListener("hashchange", route);
  await route();
}

function renderSessionBar() {
  if (!session) { replace(sessionBar); return; }
  // Listening incognito: counted in a Space, shown in no list of people (docs/people.md). Taken
  // by the next Space this page joins.
  const incognito = h("input", { type: "checkbox", id: "incognito", checked: wantsIncognito(),
    onchange: (event) => setWantsIncognito(event.target.checked) });
  replace(sessionBar, h("label", { class: "inline", for: "incognito" }, incognito, "Listen incognito"), " ",
    h("span", { id: "signed-in-as" }, `Signed in as ${session.user_id} `),
    h("button", { type: "button", onclick: async () => {
      if (current && current.close) await current.close();
      current = null;
      signOut();
      session = null;
      announce("You are signed out.");
      window.location.hash = "#/";
      route();
    } }, "Sign out"));
}

function signInView() {
  const title = h("h2", { id: "sign-in-title" }, "Sign in");
  if (config.auth.mode === "cognito") {
    return h("section", { "aria-labelledby": "sign-in-title" }, title,
      h("button", { type: "button", class: "primary", onclick: () => startHostedUi(config) }, "Sign in with your Spaces account"));
  }
  const message = h("p", { role: "status" });
  const go = async (userId) => {
    try {
      session = await signInLocally(config, userId);
      announce(`Signed in as ${session.user_id}.`);
      route();
    } catch (err) {
      message.textContent = err.message;
      message.className = "error";
    }
  };
  const other = h("input", { id: "user-id", name: "user_id", autocomplete: "username", required: true });
  return h("section", { "aria-labelledby": "sign-in-title" }, title,
    h("p", { class: "muted" }, `Local stage (${config.stage}): pick anyone; no password. In AWS stages this is Cognito's sign-in.`),
    h("ul", { class: "plain", "aria-label": "Demo users" }, (config.auth.demo_users || []).map((id) =>
      h("li", {}, h("button", { type: "button", onclick: () => go(id) }, `Sign in as ${id}`)))),
    h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); go(other.value.trim()); } },
      h("label", { for: "user-id" }, "Or any user id", other),
      h("button", { type: "submit" }, "Sign in")),
    message);
}

async function route() {
  if (current && current.close) await current.close();
  current = null;
  alertBanner("");
  renderSessionBar();
  if (!session) {
    replace(view, signInView());
    return;
  }
  const match = window.location.hash.match(/^#\/spaces\/([0-9A-Za-z]{1,64})$/);
  if (match) {
    current = new Room({ api, config, session, spaceId: match[1], container: view, goHome: () => { window.location.hash = "#/"; } });
  } else {
    current = new Discovery({ api, session, container: view, openSpace: (id) => { window.location.hash = `#/spaces/${id}`; } });
  }
  view.focus();
  await current.open();
}

boot().catch((err) => {
  replace(view, h("p", { class: "error" }, `The page could not start: ${err.message}`));
});
