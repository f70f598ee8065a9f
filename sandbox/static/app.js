// The sandbox page: a Slack-like window onto the fake Slack, for one person at a time.
//
// What it shows comes from GET /api/state, a long poll that answers when anything changes; what the person does goes
// to POST /api/..., where the sandbox signs it and sends Heard exactly what Slack would. The page holds no secret.

import { Form, blocks, emojify, h, mrkdwn, plainText } from "./blockkit.js";

const $ = (id) => document.getElementById(id);
const HOME = "home";
const AVATAR_COLOURS = ["#2bac76", "#e8912d", "#1264a3", "#e01e5a", "#4a154b"];

const app = {
  boot: null,
  user: null,
  conversation: null,
  thread: null,
  version: -1,
  generation: 0,
  poller: null,
  seen: new Map(), // "user|conversation" -> how many messages the person has seen there
  dismissed: new Set(), // ephemeral messages the person dismissed (they are the page's own, as in Slack)
  rendered: new Map(), // ts -> { key, node } of the conversation's messages
  threadKey: null,
  homeKey: null,
  modal: null, // { key, form }
  customerKey: null, // what the customer's view last showed
  focus: null, // ts of a message to scroll to once shown (a permalink was followed)
};

// -- talking to the sandbox ---------------------------------------------------------------------------------------

async function post(name, body) {
  const response = await fetch(`/api/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error ?? `the sandbox answered ${response.status}`);
  return answer;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follow the state: each answer is rendered, then the next poll waits for the next change. */
async function follow() {
  let backoff = 300;
  for (;;) {
    const generation = app.generation;
    const controller = new AbortController();
    app.poller = controller;
    const query = new URLSearchParams({ user: app.user, conversation: app.conversation, since: app.version });
    if (app.thread) query.set("thread", app.thread);
    try {
      const response = await fetch(`/api/state?${query}`, { signal: controller.signal });
      if (!response.ok) throw new Error(`state: ${response.status}`);
      const state = await response.json();
      if (generation !== app.generation) continue; // the view changed while this was on its way
      app.version = state.version;
      render(state);
      setLive(true);
      backoff = 300;
    } catch (error) {
      if (generation !== app.generation) continue;
      setLive(false);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}

/** Show something else (another person, conversation or thread): drop the poll in flight, ask afresh. */
function changeView(change) {
  const moved = (change.user ?? app.user) !== app.user || (change.conversation ?? app.conversation) !== app.conversation;
  Object.assign(app, change);
  refresh();
  writeLocation();
  if (moved) renderChrome();
  else renderThreadVisibility();
  // Opening the Home tab (or opening it again, or as someone else) is what makes Heard publish it afresh.
  if (app.conversation === HOME && (moved || change.conversation === HOME)) openHome();
}

/** Ask for the whole state again now, instead of waiting for the next change. */
function refresh() {
  app.version = -1;
  app.generation += 1;
  app.poller?.abort();
}

function setLive(live) {
  const badge = $("live");
  badge.textContent = live ? "Live" : "Reconnecting…";
  badge.classList.toggle("offline", !live);
}

function toast(message) {
  const note = h("div", { class: "toast", role: "alert" }, message);
  document.body.append(note);
  setTimeout(() => note.remove(), 5000);
}

// -- the address bar: #as=U0AGENTB&in=C0COMPLAINTS, so two tabs can be two people -----------------------------------

function readLocation() {
  const params = new URLSearchParams(location.hash.slice(1));
  const wanted = (params.get("as") ?? "").toLowerCase();
  const person = app.boot.people.find((p) => p.id.toLowerCase() === wanted || p.handle === wanted);
  app.user = (person ?? app.boot.people[0]).id;
  const conversation = params.get("in");
  app.conversation = conversationIds().includes(conversation) ? conversation : app.boot.channels[0].id;
}

function writeLocation() {
  history.replaceState(null, "", `#as=${app.user}&in=${app.conversation}`);
}

function conversationIds() {
  return [...app.boot.channels.map((c) => c.id), app.boot.dms[app.user], HOME];
}

// -- people and names ---------------------------------------------------------------------------------------------

function person(id) {
  return app.boot.people.find((p) => p.id === id);
}

function displayName(id) {
  if (id === app.boot.bot) return "Heard";
  return app.boot.names[id] ?? id ?? "someone";
}

function avatar(id) {
  if (id === app.boot.bot) return h("span", { class: "avatar bot", "aria-hidden": "true" }, "H");
  const index = app.boot.people.findIndex((p) => p.id === id);
  const node = h("span", { class: "avatar", "aria-hidden": "true" }, displayName(id).slice(0, 1).toUpperCase());
  node.style.background = AVATAR_COLOURS[(index + AVATAR_COLOURS.length) % AVATAR_COLOURS.length];
  return node;
}

function context(surface) {
  return {
    names: app.boot.names,
    people: app.boot.people,
    channels: app.boot.channels,
    act: (element, blockId, chosen) => act(surface, element, blockId, chosen),
    openPermalink,
  };
}

/** A link to a message (Heard's "Open the card"): show it here, in its conversation or its thread. */
function openPermalink({ channel, ts, threadTs }) {
  if (!conversationIds().includes(channel)) {
    toast("That message is in a conversation you cannot see.");
    return;
  }
  app.focus = threadTs ?? ts;
  changeView({ conversation: channel, thread: threadTs });
}

function highlightFocus() {
  if (!app.focus) return;
  const node = $("messages").querySelector(`[data-ts="${CSS.escape(app.focus)}"]`);
  if (!node) return;
  app.focus = null;
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 2500);
}

async function act(surface, element, blockId, chosen, form) {
  try {
    await post("act", {
      user: app.user,
      surface,
      block_id: blockId,
      action_id: element.action_id,
      chosen: chosen ?? null,
      shown: element,
      form: form ?? null,
    });
  } catch (error) {
    toast(error.message);
  }
}

// -- chrome: the person switcher, the sidebar, the conversation's header ---------------------------------------------

function renderViewer() {
  $("viewer").replaceChildren(
    ...app.boot.people.map((p) =>
      h(
        "button",
        {
          type: "button",
          class: "viewer-button",
          "aria-pressed": String(p.id === app.user),
          onclick: () => p.id !== app.user && changeView({ user: p.id, thread: null, conversation: sameOrFirst() }),
        },
        avatar(p.id),
        p.label,
      ),
    ),
  );
}

function sameOrFirst() {
  // A DM is someone's own: switching person keeps channels and Home, and lands others in #complaints.
  return app.conversation.startsWith("D") ? app.boot.channels[0].id : app.conversation;
}

function sidebarItem(id, icon, label) {
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: "conversation-link",
        "data-conversation": id,
        "aria-current": id === app.conversation ? "page" : null,
        onclick: () => changeView({ conversation: id, thread: null }),
      },
      h("span", { class: "icon", "aria-hidden": "true" }, icon),
      h("span", { class: "label" }, label),
      h("span", { class: "unread", hidden: true }),
    ),
  );
}

function renderChrome() {
  renderViewer();
  const me = person(app.user);
  $("workspace-sub").textContent = `● ${me.name}, ${me.role}`;
  $("channel-list").replaceChildren(...app.boot.channels.map((c) => sidebarItem(c.id, "#", c.name)));
  $("dm-list").replaceChildren(sidebarItem(app.boot.dms[app.user], "H", "Heard"));
  $("app-list").replaceChildren(sidebarItem(HOME, "⌂", "Heard · Home"));

  const channel = app.boot.channels.find((c) => c.id === app.conversation);
  const home = app.conversation === HOME;
  $("conversation-title").textContent = channel ? `# ${channel.name}` : home ? "Heard · Home" : "Heard";
  $("conversation-topic").textContent = channel
    ? channel.topic
    : home
      ? "Your queue, follow-ups and the team's counters; Heard refreshes it each time you open it"
      : "Your direct messages with Heard: nags, follow-ups, approvals, digests";
  $("messages").hidden = home;
  $("home").hidden = !home;
  $("composer").hidden = home;
  $("composer-input").placeholder = channel
    ? `Message #${channel.name} — or type /complaints help`
    : "Message Heard — or type /complaints help";
  $("composer-note").textContent = "";
  app.rendered.clear();
  app.threadKey = null;
  app.homeKey = null;
  $("messages").replaceChildren(h("p", { class: "empty" }, "Loading…"));
  renderThreadVisibility();
}

function renderThreadVisibility() {
  $("thread").hidden = !app.thread;
  $("customers").hidden = Boolean(app.thread);
}

function renderCounts(counts) {
  for (const node of document.querySelectorAll(".conversation-link")) {
    const id = node.dataset.conversation;
    if (!(id in counts)) continue;
    const key = `${app.user}|${id}`;
    if (id === app.conversation) app.seen.set(key, counts[id]);
    const unread = counts[id] - (app.seen.get(key) ?? 0);
    const badge = node.querySelector(".unread");
    badge.hidden = unread <= 0;
    badge.textContent = unread > 0 ? String(unread) : "";
    node.classList.toggle("has-unread", unread > 0);
  }
}

// -- messages -----------------------------------------------------------------------------------------------------

function time(ts) {
  const date = new Date(Number(String(ts).split(".")[0]) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

function messageNode(message, channel, { inThread = false } = {}) {
  const surface = message.ephemeral
    ? { kind: "ephemeral", channel, ts: message.ts }
    : { kind: "message", channel, ts: message.ts };
  const ctx = context(surface);
  // An ephemeral message is addressed to the person (its "user"); it comes from Heard.
  const author = message.ephemeral ? app.boot.bot : message.user;
  const bot = author === app.boot.bot;
  const body = h("div", { class: "message-body" });
  body.append(
    h(
      "div",
      { class: "message-head" },
      h("span", { class: "author" }, displayName(author)),
      bot ? h("span", { class: "app-badge" }, "APP") : null,
      h("time", { datetime: new Date(Number(message.ts.split(".")[0]) * 1000).toISOString() }, time(message.ts)),
      message.edited && !message.ephemeral ? h("span", { class: "edited" }, "(edited)") : null,
    ),
  );
  if (message.ephemeral) {
    body.append(
      h(
        "div",
        { class: "ephemeral-note" },
        "👁 Only visible to you",
        h("button", { type: "button", class: "link-button", onclick: () => dismiss(message.ts) }, "Dismiss"),
      ),
    );
  }
  const content = h("div", { class: "message-content" });
  if (message.blocks?.length) content.append(blocks(message.blocks, ctx));
  else if (message.text) content.append(h("div", { class: "bk-text" }, mrkdwn(message.text, ctx)));
  body.append(content);
  if (message.files?.length) body.append(h("div", { class: "files" }, message.files.map(fileNode)));
  if (!inThread && message.reply_count) {
    body.append(
      h(
        "button",
        { type: "button", class: "replies", onclick: () => changeView({ thread: message.ts }) },
        `${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`,
        message.latest_reply ? h("span", { class: "muted" }, ` · last at ${time(message.latest_reply)}`) : null,
      ),
    );
  }
  return h(
    "article",
    { class: `message${message.ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts },
    avatar(author),
    body,
  );
}

function fileNode(file) {
  const title = file.title || file.name;
  if ((file.mimetype ?? "").startsWith("image/")) {
    return h(
      "figure",
      { class: "file image" },
      h("figcaption", {}, title),
      h("a", { href: file.url, target: "_blank", rel: "noopener" }, h("img", { src: file.url, alt: file.alt_txt ?? title })),
    );
  }
  return h(
    "a",
    { class: "file", href: file.url, download: file.name },
    h("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
    h("span", {}, h("strong", {}, title), h("small", {}, ` ${file.pretty_type ?? ""} · ${file.size ?? 0} bytes`)),
  );
}

function dismiss(ts) {
  app.dismissed.add(ts);
  refresh();
}

function renderMessages(messages) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80 || app.rendered.size === 0;
  const visible = messages.filter((m) => !(m.ephemeral && app.dismissed.has(m.ts)));
  if (!visible.length) {
    app.rendered.clear();
    list.replaceChildren(h("p", { class: "empty" }, emptyText()));
    return;
  }
  const kept = new Map();
  const nodes = visible.map((message) => {
    const key = JSON.stringify(message);
    const old = app.rendered.get(message.ts);
    const node = old?.key === key ? old.node : messageNode(message, app.conversation);
    kept.set(message.ts, { key, node });
    return node;
  });
  app.rendered = kept;
  const same = nodes.length === list.children.length && nodes.every((node, i) => list.children[i] === node);
  if (!same) list.replaceChildren(...nodes);
  if (atBottom) list.scrollTop = list.scrollHeight;
  highlightFocus();
}

function emptyText() {
  if (app.conversation === app.boot.channels[0].id) {
    return "No complaints yet. Post one from the customer side, or start the replay of real ones →";
  }
  if (app.conversation.startsWith("D")) {
    return "Heard writes to you here: nags before a deadline, follow-ups that are due, approvals, digests.";
  }
  return "Nothing here yet. Escalations to this department land here.";
}

function renderThread(thread) {
  renderThreadVisibility();
  if (!app.thread) return;
  const key = JSON.stringify(thread) + [...app.dismissed].join();
  if (key === app.threadKey) return;
  app.threadKey = key;
  const channel = app.boot.channels.find((c) => c.id === app.conversation);
  $("thread-where").textContent = channel ? `#${channel.name}` : "Heard";
  if (!thread) {
    $("thread-messages").replaceChildren(h("p", { class: "empty" }, "This message is gone."));
    return;
  }
  const replies = thread.replies.filter((m) => !(m.ephemeral && app.dismissed.has(m.ts)));
  $("thread-messages").replaceChildren(
    messageNode(thread.parent, thread.channel, { inThread: true }),
    h("div", { class: "thread-divider" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
    ...replies.map((reply) => messageNode(reply, thread.channel, { inThread: true })),
  );
}

// -- the Home tab ---------------------------------------------------------------------------------------------------

async function openHome() {
  try {
    await post("home", { user: app.user }); // app_home_opened: Heard publishes a fresh Home view
  } catch (error) {
    toast(error.message);
  }
}

function renderHome(view) {
  const key = view ? `${view.id}:${view.hash}` : "none";
  if (key === app.homeKey) return;
  app.homeKey = key;
  $("home").replaceChildren(
    view
      ? h("div", { class: "home-view" }, blocks(view.blocks, context({ kind: "home", view_id: view.id })))
      : h("p", { class: "empty" }, "Opening Heard's Home tab…"),
  );
}

// -- modals ---------------------------------------------------------------------------------------------------------

function renderModal(modal) {
  const root = $("modal");
  if (!modal) {
    root.hidden = true;
    root.replaceChildren();
    app.modal = null;
    return;
  }
  const view = modal.view;
  const key = `${view.id}:${view.hash}`;
  if (app.modal?.key === key) return; // keep what the person is typing
  const form = new Form();
  const note = h("p", { class: "modal-note", role: "alert" });
  const close = () => closeModal(view.id);
  const submit = h("button", { type: "submit", class: "bk-button primary" }, plainText(view.submit) || "Submit");
  const ctx = {
    ...context({ kind: "modal", view_id: view.id }),
    form,
    act: (element, blockId, chosen) => act({ kind: "modal", view_id: view.id }, element, blockId, chosen, form.values()),
  };
  const titleId = `modal-title-${view.id}`;
  const dialog = h(
    "form",
    {
      class: "modal",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId,
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        submitModal(view, form, note, submit);
      },
    },
    h(
      "header",
      { class: "modal-header" },
      h("span", { class: "avatar bot small", "aria-hidden": "true" }, "H"),
      h("h2", { id: titleId }, emojify(plainText(view.title))),
      modal.depth > 1 ? h("span", { class: "muted" }, `(${modal.depth} open)`) : null,
      h("button", { type: "button", class: "icon-button", "aria-label": "Close", onclick: close }, "×"),
    ),
    h("div", { class: "modal-body" }, blocks(view.blocks, ctx)),
    h(
      "footer",
      { class: "modal-footer" },
      note,
      h("button", { type: "button", class: "bk-button", onclick: close }, plainText(view.close) || "Cancel"),
      view.submit ? submit : null,
    ),
  );
  app.modal = { key, form };
  root.replaceChildren(dialog);
  root.hidden = false;
  dialog.querySelector("input, textarea, select")?.focus();
}

async function submitModal(view, form, note, submit) {
  const missing = form.missing();
  if (missing.length) {
    // Slack's client refuses to send a form with required fields empty; so does this one.
    form.showErrors(Object.fromEntries(missing.map((blockId) => [blockId, "Please complete this required field."])));
    return;
  }
  form.showErrors({});
  note.textContent = "";
  submit.disabled = true;
  try {
    const answer = await post("submit", { user: app.user, view_id: view.id, values: form.values() });
    if (answer.outcome === "errors") form.showErrors(answer.errors);
    else if (answer.outcome === "failed") note.textContent = "We had some trouble connecting. Try again?";
    else if (answer.outcome === "closed" || answer.outcome === "cleared") renderModal(null);
  } catch (error) {
    note.textContent = error.message;
  } finally {
    submit.disabled = false;
  }
}

async function closeModal(viewId) {
  renderModal(null);
  try {
    await post("close", { user: app.user, view_id: viewId });
  } catch (error) {
    toast(error.message);
  }
}

// -- one state, rendered ----------------------------------------------------------------------------------------------

function render(state) {
  renderCounts(state.counts);
  if (app.conversation === HOME) renderHome(state.home);
  else renderMessages(state.messages);
  renderThread(state.thread);
  renderModal(state.modal);
  renderReplay(state.replay);
  renderCustomerView(state.customer);
}

// -- typing ---------------------------------------------------------------------------------------------------------

function wireComposer(formId, inputId, threadTs) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $(inputId);
    const note = $("composer-note");
    const text = input.value.trim();
    if (!text) return;
    try {
      const answer = await post("type", { user: app.user, channel: app.conversation, text, thread_ts: threadTs() });
      input.value = "";
      note.textContent = answer.outcome === "failed" ? "Heard did not answer that command in time." : "";
    } catch (error) {
      note.textContent = error.message;
    }
  });
}

// -- the customer side --------------------------------------------------------------------------------------------

const NETWORKS = { facebook: "Facebook", instagram: "Instagram" };

function postAsChanged() {
  const postAs = $("complaint-as").value;
  const meta = app.boot.meta;
  const webhook = postAs === "webhook";
  // A Facebook commenter is a name (Facebook has no handles); an Instagram one, a username.
  $("complaint-source-label").hidden = !webhook;
  $("complaint-source-label").parentElement.classList.toggle("single", !webhook);
  $("complaint-source-label").parentElement.hidden = postAs === "facebook";
  $("complaint-handle").required = postAs !== "facebook";
  $("complaint-name").parentElement.hidden = postAs === "instagram";
  $("complaint-as-note").textContent = webhook
    ? "A signed POST /ingest, as a webhook source (a form, a bridge) sends it."
    : postAs === "facebook"
      ? `A comment by this name on ${meta.page}'s Facebook post “${meta.post}”.`
      : `A comment by this username on @${meta.instagram}'s Instagram post “${meta.caption}”.`;
}

function wireCustomers() {
  $("complaint-source").replaceChildren(...app.boot.sources.map((s) => h("option", { value: s }, s)));
  $("complaint-as").addEventListener("change", postAsChanged);
  postAsChanged();
  $("complaint-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("complaint-result");
    result.className = "result";
    try {
      const postAs = $("complaint-as").value;
      const answer = await post("complaint", {
        post_as: postAs,
        source: $("complaint-source").value,
        handle: $("complaint-handle").value,
        name: $("complaint-name").value,
        text: $("complaint-text").value,
      });
      if (postAs !== "webhook" && answer.status === 200) {
        result.textContent =
          `Commented on ${NETWORKS[postAs]}; Meta's webhook delivered it and Heard filed it as complaint ` +
          `#${answer.complaint_id}.`;
      } else if (answer.status === 202) result.textContent = `Heard filed it as complaint #${answer.complaint_id}.`;
      else if (answer.duplicate) result.textContent = `Already filed as #${answer.complaint_id}.`;
      else throw new Error(`Heard refused it: ${answer.field ?? ""} ${answer.message ?? answer.status}`.trim());
      result.classList.add("ok");
    } catch (error) {
      result.textContent = error.message;
      result.classList.add("error");
    }
  });
  $("replay-about").textContent =
    `${app.boot.sample.total} opening posts of real customer-care conversations on Twitter (IBM's dataset, ` +
    "Apache-2.0), each filed as if posted now.";
  $("replay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await replay({ running: true, every: Number($("replay-every").value) || 20, mix: $("replay-mix").checked });
  });
  $("replay-stop").addEventListener("click", () => replay({ running: false }));
  $("digest-send").addEventListener("click", async () => {
    const result = $("digest-result");
    try {
      const answer = await post("digest", {});
      const sent = answer.sent.length ? `Sent to ${answer.sent.join(", ")}.` : "";
      const already = answer.already.length ? ` Today's already went to ${answer.already.join(", ")} (once a day).` : "";
      result.textContent = (sent + already).trim();
    } catch (error) {
      result.textContent = error.message;
    }
  });
  const s = app.boot.settings;
  const rows = [
    ["Acknowledge within", s.ack_window],
    ["Nags", `${s.nag_before.join(" and ")} before each deadline`],
    ["Resolve within", s.resolve_window],
    ["Follow-up default", s.follow_up_after],
    ["Time zone", s.timezone],
    ["Database", s.database],
  ];
  $("settings").replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

async function replay(change) {
  try {
    renderReplay(await post("replay", change));
  } catch (error) {
    $("replay-status").textContent = error.message;
  }
}

function renderReplay(status) {
  if (!status) return;
  const progress = `${status.sent} of ${status.total} sent${status.round > 1 ? ` (round ${status.round})` : ""}`;
  const mixed = status.running && status.mix ? ", with Facebook and Instagram comments" : "";
  const text = status.running ? `Replaying one every ${status.every} s${mixed}: ${progress}.` : `Stopped: ${progress}.`;
  $("replay-status").replaceChildren(...(status.last ? [text, h("br"), `Last: ${status.last}`] : [text]));
  $("replay-start").textContent = status.running ? "Change pace" : "Start replay";
  $("replay-stop").disabled = !status.running;
}

// -- what the customer sees: their Facebook and Instagram comments, as the network shows them --------------------

function renderCustomerView(threads) {
  if (!threads) return;
  const key = JSON.stringify(threads);
  if (key === app.customerKey) return;
  app.customerKey = key;
  $("customer-view").replaceChildren(
    ...(threads.length
      ? threads.map(customerThread)
      : [h("p", { class: "muted small" }, "No Facebook or Instagram comments yet: post one as a customer above.")]),
  );
}

function customerThread(thread) {
  const network = NETWORKS[thread.platform] ?? thread.platform;
  const inbox = thread.platform === "instagram" ? "Instagram Direct" : "Messenger";
  const post = thread.post.length > 60 ? `${thread.post.slice(0, 59)}…` : thread.post;
  return h(
    "article",
    { class: `social ${thread.platform}`, "data-comment": thread.comment_id },
    h("p", { class: "social-where" }, `${network} · on ${thread.account}'s post “${post}”`),
    socialComment(thread),
    thread.replies.length ? h("div", { class: "social-replies" }, thread.replies.map(socialComment)) : null,
    thread.private_replies.map((sent) =>
      h(
        "div",
        { class: "social-private" },
        h("strong", {}, `✉ Private reply from ${thread.account}`),
        h("span", { class: "muted" }, ` in ${inbox}`),
        h("div", { class: "social-text" }, sent.text),
      ),
    ),
  );
}

function socialComment(said) {
  const at = new Date(said.at);
  return h(
    "div",
    { class: `social-comment${said.hidden ? " hidden-comment" : ""}${said.by_brand ? " by-brand" : ""}` },
    h(
      "div",
      { class: "social-head" },
      h("strong", {}, said.author),
      said.by_brand ? h("span", { class: "app-badge" }, "Page") : null,
      h("time", { datetime: said.at }, isNaN(at) ? "" : time(at.getTime() / 1000)),
    ),
    h("div", { class: "social-text" }, said.text),
    said.hidden ? h("p", { class: "social-hidden-note" }, "Hidden from others — only its author still sees it") : null,
  );
}

// -- start --------------------------------------------------------------------------------------------------------

async function main() {
  app.boot = await (await fetch("/api/bootstrap")).json();
  readLocation();
  writeLocation();
  renderChrome();
  wireCustomers();
  wireComposer("composer", "composer-input", () => null);
  wireComposer("thread-composer", "thread-input", () => app.thread);
  $("thread-close").addEventListener("click", () => changeView({ thread: null }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && app.modal) $("modal").querySelector(".modal-header .icon-button")?.click();
  });
  if (app.conversation === HOME) openHome();
  follow();
}

main().catch((error) => {
  document.body.prepend(h("p", { class: "fatal" }, `The sandbox page could not start: ${error.message}`));
});
