// The Spaces tab: live and upcoming Spaces, by topic; creating a Space.
import { announce } from "./announce.js";
import { h, replace } from "./dom.js";

function summary(space) {
  const when = space.state === "live"
    ? `${space.participant_count ?? 0} listening`
    : `starts ${new Date(space.scheduled_start).toLocaleString()}`;
  return h("li", {},
    h("a", { href: `#/spaces/${space.id}` }, space.title),
    h("span", { class: `badge ${space.state === "live" ? "live" : ""}` }, space.state),
    h("span", { class: "muted" }, `by ${space.creator_id} · ${when}`,
      space.topics && space.topics.length ? ` · ${space.topics.join(", ")}` : ""),
    // Ticketed and subscriber-only Spaces are listed for everyone and shown locked: joining
    // takes a ticket or a subscription (buying them from this page is not built yet).
    LOCKED[space.access] ? h("span", { class: "badge" }, LOCKED[space.access]) : "");
}

const LOCKED = { ticketed: "ticketed", subscribers: "subscribers only" };

export class Discovery {
  constructor({ api, session, container, openSpace }) {
    Object.assign(this, { api, session, container, openSpace });
    this.filters = { topic: "", following: false };
  }

  async open() {
    const topic = h("input", { id: "topic-filter", name: "topic", placeholder: "e.g. tech", autocomplete: "off" });
    const following = h("input", { id: "following-filter", type: "checkbox" });
    this.lists = h("div", { id: "lists", "aria-live": "polite", "aria-busy": "false" });
    replace(this.container,
      this.createForm(),
      h("section", { "aria-labelledby": "browse-title" },
        h("h2", { id: "browse-title" }, "Browse Spaces"),
        h("form", { class: "row", onsubmit: (e) => {
          e.preventDefault();
          this.filters = { topic: topic.value.trim().toLowerCase(), following: following.checked };
          this.load();
        } },
        h("label", { for: "topic-filter" }, "Topic", topic),
        h("label", { class: "inline", for: "following-filter" }, following, "Only people I follow"),
        h("button", { type: "submit" }, "Show"))),
      this.lists);
    await this.load();
  }

  createForm() {
    const title = h("input", { id: "new-title", name: "title", required: true, maxlength: 140 });
    const topics = h("input", { id: "new-topics", name: "topics", placeholder: "up to 3, comma-separated" });
    const start = h("input", { id: "new-start", name: "scheduled_start", type: "datetime-local" });
    const record = h("input", { id: "new-recording", name: "recording", type: "checkbox" });
    const message = h("p", { id: "create-message", role: "status" });
    const form = h("form", { class: "row", onsubmit: async (e) => {
      e.preventDefault();
      const body = { title: title.value.trim() };
      const list = topics.value.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
      if (list.length) body.topics = list;
      if (record.checked) body.recording = true;
      if (start.value) body.scheduled_start = new Date(start.value).toISOString().replace(/\.\d{3}Z$/, "Z");
      button.disabled = true;
      try {
        const space = await this.api.createSpace(body);
        announce(space.state === "live" ? "Your Space is live." : "Your Space is scheduled.");
        this.openSpace(space.id);
      } catch (err) {
        message.textContent = err.message;
        message.className = "error";
      } finally {
        button.disabled = false;
      }
    } },
    h("label", { for: "new-title" }, "Title", title),
    h("label", { for: "new-topics" }, "Topics", topics),
    h("label", { for: "new-start" }, "Start later (leave empty to go live now)", start),
    h("label", { class: "inline", for: "new-recording" }, record, "Record this Space (speakers agree before they speak)"));
    const button = h("button", { type: "submit", class: "primary" }, "Create Space");
    form.append(button);
    return h("section", { "aria-labelledby": "create-title" },
      h("h2", { id: "create-title" }, "Host a Space"), form, message);
  }

  async load() {
    this.lists.setAttribute("aria-busy", "true");
    const { topic, following } = this.filters;
    const sections = [];
    for (const [state, label] of [["live", "Live now"], ["scheduled", "Upcoming"]]) {
      // Following is a filter of its own (the API takes one of topic / following at a time).
      const params = following ? { state, following: "true" } : { state, topic: topic || undefined };
      let body;
      try {
        const page = await this.api.listSpaces(params);
        body = page.spaces.length
          ? h("ul", { class: "plain", id: `${state}-spaces` }, page.spaces.map(summary))
          : h("p", { class: "muted", id: `${state}-spaces` }, topic ? `No ${label.toLowerCase()} Spaces about “${topic}”.` : "None right now.");
      } catch (err) {
        body = h("p", { class: "error", id: `${state}-spaces` }, `Could not load: ${err.message}`);
      }
      sections.push(h("section", { "aria-label": label }, h("h3", {}, label), body));
    }
    replace(this.lists, ...sections);
    this.lists.setAttribute("aria-busy", "false");
  }

  close() {}
}
