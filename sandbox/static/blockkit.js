// Block Kit and mrkdwn as Slack shows them, built with DOM calls only.
//
// Complaint text comes from strangers: nothing here ever assigns innerHTML. Text reaches the page through
// textContent / createTextNode, links only for http(s) and mailto, so a hostile post stays text.

const EMOJI = {
  speech_balloon: "💬", hourglass_flowing_sand: "⏳", hourglass: "⌛", bust_in_silhouette: "👤",
  arrow_up: "⬆️", rotating_light: "🚨", white_check_mark: "✅", warning: "⚠️", red_circle: "🔴",
  lock: "🔒", calendar: "📅", date: "📅", zzz: "💤", tada: "🎉", no_entry: "⛔", memo: "📝",
  stopwatch: "⏱️", see_no_evil: "🙈", raised_hand: "✋", point_right: "👉", outbox_tray: "📤",
  inbox_tray: "📥", money_with_wings: "💸", file_folder: "📁", envelope: "✉️", clipboard: "📋",
  ballot_box_with_check: "☑️", bell: "🔔", x: "❌", heavy_check_mark: "✔️", eyes: "👀", fire: "🔥",
  star: "⭐", thumbsup: "👍", "+1": "👍", wave: "👋", bar_chart: "📊", chart_with_upwards_trend: "📈",
  mag: "🔍", link: "🔗", large_green_circle: "🟢", large_yellow_circle: "🟡", large_orange_circle: "🟠",
  email: "📧", phone: "📞", hammer_and_wrench: "🛠️", scales: "⚖️", mega: "📣", pushpin: "📌",
  busts_in_silhouette: "👥", heavy_plus_sign: "➕", repeat: "🔁", speaking_head_in_silhouette: "🗣️",
  left_speech_bubble: "🗨️", shield: "🛡️", no_entry_sign: "🚫", wastebasket: "🗑️", information_source: "ℹ️",
};

const ENTITIES = { amp: "&", lt: "<", gt: ">" };

/** Slack's three escapes undone, in one pass (so "&amp;lt;" shows as "&lt;"). */
export function unescapeSlack(text) {
  return text.replace(/&(amp|lt|gt);/g, (_, name) => ENTITIES[name]);
}

export function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

/** An element with attributes and children (strings become text nodes). */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// The fake Slack's permalinks (chat.getPermalink): in the sandbox they lead to the message on this page.
const PERMALINK = /^https:\/\/fake\.slack\.com\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})(?:\?thread_ts=(\d+\.\d+))?/;

export function link(url, label, ctx = {}) {
  const href = safeUrl(url);
  if (!href) return document.createTextNode(label);
  const permalink = PERMALINK.exec(href);
  if (permalink && ctx.openPermalink) {
    const [, channel, seconds, micros, threadTs] = permalink;
    const open = (event) => {
      event.preventDefault();
      ctx.openPermalink({ channel, ts: `${seconds}.${micros}`, threadTs: threadTs ?? null });
    };
    return h("a", { href, onclick: open, title: "Show this message" }, label);
  }
  return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label);
}

// -- mrkdwn ---------------------------------------------------------------------------------------------------

/** `<…>` in mrkdwn: mentions, channels, special mentions, dates, links. Anything else shows as typed. */
function angle(inside, ctx) {
  const [target, label] = splitOnce(inside, "|");
  const name = (id) => ctx.names?.[id];
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return h("span", { class: "mention", title: id }, "@" + (name(id) ?? label ?? id));
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return h("span", { class: "mention channel", title: id }, "#" + (name(id) ?? label ?? id));
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice("!subteam^".length);
    const shown = name(id) ? "@" + name(id) : label ?? "@" + id;
    return h("span", { class: "mention group", title: id }, shown);
  }
  if (target.startsWith("!date^")) {
    const seconds = Number(target.split("^")[1]);
    const when = Number.isFinite(seconds) ? new Date(seconds * 1000).toLocaleString() : null;
    return document.createTextNode(label ?? when ?? target);
  }
  if (target.startsWith("!")) {
    return h("span", { class: "mention special" }, "@" + (label ?? target.slice(1)));
  }
  if (safeUrl(target)) return link(target, unescapeSlack(label ?? target), ctx);
  return document.createTextNode(unescapeSlack("<" + inside + ">"));
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

// Code, `<…>`, and *bold* / _italic_ / ~strike~ whose markers sit at word boundaries (as Slack's do).
const INLINE = /`([^`\n]+)`|<([^<>\n]+)>|([*_~])(\S(?:[^\n]*?\S)?)\3/gu;
const STYLE = { "*": "b", _: "i", "~": "s" };
const WORD = /[\p{L}\p{N}]/u;

function inline(text, ctx, out) {
  let last = 0;
  const pattern = new RegExp(INLINE); // a fresh lastIndex: styled text is scanned again, recursively
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    if (match[3] && (WORD.test(text[start - 1] ?? "") || WORD.test(text[end] ?? ""))) {
      pattern.lastIndex = start + 1; // not a marker here: keep looking from the next character
      continue;
    }
    if (start > last) out.push(plain(text.slice(last, start)));
    if (match[1] !== undefined) out.push(h("code", {}, unescapeSlack(match[1])));
    else if (match[2] !== undefined) out.push(angle(match[2], ctx));
    else {
      out.push(append(h(STYLE[match[3]]), inline(match[4], ctx, [])));
    }
    last = end;
  }
  if (last < text.length) out.push(plain(text.slice(last)));
  return out;
}

function plain(text) {
  return document.createTextNode(emojify(unescapeSlack(text)));
}

/** Slack mrkdwn as a fragment: ```code blocks```, > quotes, inline styles, mentions and links. */
export function mrkdwn(text, ctx = {}) {
  const fragment = document.createDocumentFragment();
  const parts = String(text ?? "").split("```");
  parts.forEach((part, index) => {
    if (index % 2 === 1) {
      fragment.append(h("pre", { class: "code-block" }, unescapeSlack(part.replace(/^\n/, ""))));
      return;
    }
    let quote = null;
    const lines = part.split("\n");
    lines.forEach((line, lineIndex) => {
      const quoted = line.startsWith(">") && !line.startsWith("&gt;");
      const target = quoted ? (quote ??= fragment.appendChild(h("blockquote"))) : fragment;
      if (!quoted) quote = null;
      const content = quoted ? line.replace(/^>\s?/, "") : line;
      append(target, inline(content, ctx, []));
      const next = lines[lineIndex + 1];
      const nextQuoted = next !== undefined && next.startsWith(">") && !next.startsWith("&gt;");
      if (lineIndex < lines.length - 1 && quoted === nextQuoted) target.append("\n");
    });
  });
  return fragment;
}

/** A text object: mrkdwn, or plain_text shown as it is (with :emoji: when it asks for them). */
export function textObject(object, ctx = {}) {
  if (!object) return document.createDocumentFragment();
  if (typeof object === "string") return mrkdwn(object, ctx);
  if (object.type === "mrkdwn") return mrkdwn(object.text, ctx);
  return document.createTextNode(object.emoji === false ? object.text : emojify(object.text ?? ""));
}

export function plainText(object) {
  if (!object) return "";
  return typeof object === "string" ? object : object.text ?? "";
}

// -- blocks -----------------------------------------------------------------------------------------------------

let uniqueId = 0;
const nextId = (prefix) => `${prefix}-${++uniqueId}`;

/**
 * Blocks as a fragment. `ctx`: { names, people, channels, surface: "message" | "modal" | "home",
 * act(element, blockId, chosen) for interactive elements, form (modals: input getters by block id) }.
 */
export function blocks(list, ctx) {
  const fragment = document.createDocumentFragment();
  for (const block of list ?? []) fragment.append(renderBlock(block, ctx));
  return fragment;
}

function renderBlock(block, ctx) {
  switch (block.type) {
    case "section":
      return section(block, ctx);
    case "header":
      return h("h3", { class: "bk-header" }, textObject(block.text, ctx));
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "context":
      return h("div", { class: "bk-context" }, (block.elements ?? []).map((element) => contextElement(element, ctx)));
    case "actions":
      return h("div", { class: "bk-actions" }, (block.elements ?? []).map((e) => interactive(e, block.block_id, ctx)));
    case "image":
      return h(
        "figure",
        { class: "bk-image" },
        block.title ? h("figcaption", {}, textObject(block.title, ctx)) : null,
        image(block.image_url, block.alt_text),
      );
    case "input":
      return input(block, ctx);
    case "rich_text":
      return h("div", { class: "bk-rich" }, (block.elements ?? []).map((e) => richElement(e, ctx)));
    default:
      return h("div", { class: "bk-unknown" }, `[${block.type} block]`);
  }
}

function section(block, ctx) {
  const body = h("div", { class: "bk-section-body" });
  if (block.text) body.append(h("div", { class: "bk-text" }, textObject(block.text, ctx)));
  if (block.fields?.length) {
    body.append(h("div", { class: "bk-fields" }, block.fields.map((f) => h("div", { class: "bk-field" }, textObject(f, ctx)))));
  }
  const accessory = block.accessory
    ? h("div", { class: "bk-accessory" }, interactive(block.accessory, block.block_id, ctx))
    : null;
  return h("div", { class: "bk-section" }, body, accessory);
}

function contextElement(element, ctx) {
  if (element.type === "image") return image(element.image_url, element.alt_text, "bk-context-image");
  return h("span", { class: "bk-context-text" }, textObject(element, ctx));
}

function image(url, alt, className = "") {
  const src = safeUrl(url) ?? (String(url ?? "").startsWith("/files/") ? url : null);
  if (!src) return h("span", { class: "bk-image-missing" }, alt ?? "[image]");
  return h("img", { src, alt: alt ?? "", class: className, loading: "lazy", referrerpolicy: "no-referrer" });
}

function option(value, text, selected) {
  return h("option", { value, selected }, text);
}

/** An interactive element outside an input block: it acts at once (block_actions), as in Slack. */
function interactive(element, blockId, ctx) {
  const act = (chosen) => ctx.act?.(element, blockId, chosen);
  switch (element.type) {
    case "button":
      return button(element, act);
    case "overflow":
      return overflow(element, act);
    case "image":
      return image(element.image_url, element.alt_text, "bk-accessory-image");
    default: {
      // Selects and pickers act as soon as something is chosen, as in Slack: a <select> (the card's "More…" menu)
      // sends the chosen option's value through the page's act endpoint, like a button click.
      const widget = control(element, ctx, nextId("control"));
      widget.node.classList.add("bk-inline-control");
      const name = plainText(element.placeholder);
      if (name) widget.node.setAttribute("aria-label", name);
      widget.node.addEventListener("change", () => act(widget.value()));
      return widget.node;
    }
  }
}

function button(element, act) {
  const styles = { primary: "primary", danger: "danger" };
  return h(
    "button",
    {
      type: "button",
      class: `bk-button ${styles[element.style] ?? ""}`.trim(),
      "data-action-id": element.action_id,
      onclick: (event) => {
        const node = event.currentTarget;
        const url = element.url && safeUrl(element.url);
        if (url) window.open(url, "_blank", "noopener,noreferrer");
        node.classList.add("busy");
        Promise.resolve(act()).finally(() => node.classList.remove("busy"));
      },
    },
    emojify(plainText(element.text)),
  );
}

function overflow(element, act) {
  const menu = h(
    "div",
    { class: "bk-menu", role: "menu", hidden: true },
    (element.options ?? []).map((o) =>
      h("button", { type: "button", role: "menuitem", onclick: () => { menu.hidden = true; act(o.value); } }, plainText(o.text)),
    ),
  );
  const toggle = h("button", {
    type: "button",
    class: "bk-overflow",
    "aria-label": "More actions",
    "aria-haspopup": "menu",
    onclick: (event) => {
      event.stopPropagation();
      menu.hidden = !menu.hidden;
      if (!menu.hidden) document.addEventListener("click", () => (menu.hidden = true), { once: true });
    },
  }, "⋯");
  return h("span", { class: "bk-overflow-wrap" }, toggle, menu);
}

/**
 * A form control for a select, picker, checkbox group or text input, with `value()` giving what the person chose
 * as the sandbox's backend takes it (option values, ids, YYYY-MM-DD, HH:MM, text; null when empty).
 */
function control(element, ctx, id) {
  const options = [...(element.options ?? []), ...(element.option_groups ?? []).flatMap((g) => g.options ?? [])];
  const placeholder = plainText(element.placeholder);
  switch (element.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const types = { email_text_input: "email", url_text_input: "url", number_input: "text" };
      const node = element.multiline
        ? h("textarea", { id, rows: 4, maxlength: element.max_length, placeholder })
        : h("input", { id, type: types[element.type] ?? "text", maxlength: element.max_length, placeholder, inputmode: element.type === "number_input" ? "decimal" : null });
      node.value = element.initial_value ?? "";
      return { node, value: () => (node.value === "" ? null : node.value), focus: node };
    }
    case "static_select":
    case "external_select":
    case "users_select":
    case "conversations_select":
    case "channels_select": {
      const choices = choicesFor(element, options, ctx);
      const initial = element.initial_option?.value ?? element.initial_user ?? element.initial_conversation ?? element.initial_channel ?? "";
      const node = h(
        "select",
        { id },
        option("", placeholder || (element.type === "users_select" ? "Select a person" : "Select an item"), initial === ""),
        choices.map(([value, text]) => option(value, text, value === initial)),
      );
      node.firstChild.disabled = true;
      return { node, value: () => node.value || null, focus: node };
    }
    case "multi_static_select":
    case "multi_users_select": {
      const choices = choicesFor(element, options, ctx);
      const initial = new Set([...(element.initial_options ?? []).map((o) => o.value), ...(element.initial_users ?? [])]);
      const node = h("select", { id, multiple: true, size: Math.min(6, choices.length) }, choices.map(([v, t]) => option(v, t, initial.has(v))));
      return { node, value: () => [...node.selectedOptions].map((o) => o.value), focus: node };
    }
    case "datepicker": {
      const node = h("input", { id, type: "date", value: element.initial_date });
      return { node, value: () => node.value || null, focus: node };
    }
    case "timepicker": {
      const node = h("input", { id, type: "time", value: element.initial_time });
      return { node, value: () => node.value || null, focus: node };
    }
    case "checkboxes":
    case "radio_buttons": {
      const type = element.type === "checkboxes" ? "checkbox" : "radio";
      const initial = new Set([element.initial_option?.value, ...(element.initial_options ?? []).map((o) => o.value)]);
      const inputs = [];
      const node = h(
        "div",
        { id, class: "bk-choices", role: type === "radio" ? "radiogroup" : "group" },
        options.map((o) => {
          const box = h("input", { type, name: id, value: o.value, checked: initial.has(o.value) });
          inputs.push(box);
          return h("label", { class: "bk-choice" }, box, h("span", {}, textObject(o.text, ctx), o.description ? h("small", {}, textObject(o.description, ctx)) : null));
        }),
      );
      const checked = () => inputs.filter((box) => box.checked).map((box) => box.value);
      return { node, value: () => (type === "checkbox" ? checked() : checked()[0] ?? null), focus: inputs[0] };
    }
    default: {
      const node = h("span", { class: "bk-unknown" }, `[${element.type}]`);
      return { node, value: () => null, focus: null };
    }
  }
}

function choicesFor(element, options, ctx) {
  if (element.type.includes("users")) return (ctx.people ?? []).map((p) => [p.id, p.label]);
  if (element.type.includes("conversations") || element.type.includes("channels")) {
    return (ctx.channels ?? []).map((c) => [c.id, "#" + c.name]);
  }
  return options.map((o) => [o.value, emojify(plainText(o.text))]);
}

/** An input block of a modal: label, control, hint, and a place for the error Heard may answer with. */
function input(block, ctx) {
  const id = nextId("input");
  const widget = control(block.element ?? {}, ctx, id);
  const error = h("p", { class: "bk-error", role: "alert", hidden: true });
  const field = h(
    "div",
    { class: "bk-input", "data-block-id": block.block_id },
    h("label", { for: id, class: "bk-label" }, plainText(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
    widget.node,
    block.hint ? h("p", { class: "bk-hint" }, textObject(block.hint, ctx)) : null,
    error,
  );
  ctx.form?.register(block.block_id, {
    value: widget.value,
    optional: Boolean(block.optional),
    focus: widget.focus,
    showError(message) {
      error.textContent = message ?? "";
      error.hidden = !message;
      field.classList.toggle("has-error", Boolean(message));
    },
  });
  return field;
}

// rich_text: what people type in Slack (Heard itself sends none; shown for completeness).
function richElement(element, ctx) {
  switch (element.type) {
    case "rich_text_section":
      return h("div", {}, (element.elements ?? []).map((e) => richInline(e, ctx)));
    case "rich_text_list":
      return h(element.style === "ordered" ? "ol" : "ul", {}, (element.elements ?? []).map((e) => h("li", {}, richElement(e, ctx))));
    case "rich_text_quote":
      return h("blockquote", {}, (element.elements ?? []).map((e) => richInline(e, ctx)));
    case "rich_text_preformatted":
      return h("pre", { class: "code-block" }, (element.elements ?? []).map((e) => e.text ?? ""));
    default:
      return h("span", { class: "bk-unknown" }, `[${element.type}]`);
  }
}

function richInline(element, ctx) {
  const style = element.style ?? {};
  let node;
  if (element.type === "link") node = link(element.url, element.text ?? element.url, ctx);
  else if (element.type === "user") node = h("span", { class: "mention" }, "@" + (ctx.names?.[element.user_id] ?? element.user_id));
  else if (element.type === "channel") node = h("span", { class: "mention channel" }, "#" + (ctx.names?.[element.channel_id] ?? element.channel_id));
  else if (element.type === "emoji") node = document.createTextNode(EMOJI[element.name] ?? `:${element.name}:`);
  else node = document.createTextNode(element.text ?? "");
  for (const [flag, tag] of [["code", "code"], ["bold", "b"], ["italic", "i"], ["strike", "s"]]) {
    if (style[flag]) node = h(tag, {}, node);
  }
  return node;
}

/** Input getters of one modal, filled by `blocks(..., { form })`. */
export class Form {
  constructor() {
    this.fields = new Map();
  }

  register(blockId, field) {
    this.fields.set(blockId, field);
  }

  values() {
    return Object.fromEntries([...this.fields].map(([blockId, field]) => [blockId, field.value()]));
  }

  /** What Slack's client itself refuses to submit: required inputs left empty. */
  missing() {
    const empty = (value) => value === null || value === "" || (Array.isArray(value) && value.length === 0);
    return [...this.fields].filter(([, field]) => !field.optional && empty(field.value())).map(([blockId]) => blockId);
  }

  showErrors(errors) {
    for (const [blockId, field] of this.fields) field.showError(errors[blockId]);
  }
}
