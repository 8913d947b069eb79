// The inspector page's script. It reads msgpackr arrays of frames from /stream (the server's
// journal first, then live batches) into a model of services and actors, and redraws at most
// once per animation frame. Everything from the stream is shown with textContent, never as HTML:
// actor data comes from mail clients. Charts are SVG made by the server from the machine
// definitions; the active states are marked by the <title> of their Graphviz nodes. Snapshots
// carry an actor's whole context only now and then, and otherwise the keys that changed: each is
// folded into the context as of that snapshot as it arrives (context-fold.js, the server's
// compiled src/inspect/context-fold.ts), for the context view and time travel.

/* global msgpackr */
const MAX_FINISHED = 200;
const MAX_SUPERVISOR_EVENTS = 50;
const token = new URLSearchParams(location.search).get("token");
const query = token === null ? "" : `?token=${encodeURIComponent(token)}`;
// Imported with the token: off loopback the server answers no request without it.
const { foldContext } = await import(`./context-fold.js${query}`);

const model = { root: "", branches: [], statuses: new Map(), supervisorEvents: [], actors: new Map(), finished: [] };
const view = { selected: undefined, cursor: undefined, chartFor: undefined };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// `smtpd:2525/conn/17` is kind `conn`; a child (`…/conn/17/readLine`) is listed under its parent.
function kindOf(id) {
  return id.split("/")[1] ?? id;
}

function actorFor(frame) {
  let actor = model.actors.get(frame.id);
  if (actor === undefined) {
    actor = { id: frame.id, service: frame.service, kind: kindOf(frame.id), started: frame.at, events: [], snapshots: [], children: new Set() };
    model.actors.set(frame.id, actor);
  }
  return actor;
}

function apply(frame) {
  switch (frame.kind) {
    case "layout":
      model.root = frame.root;
      model.branches = frame.branches;
      return;
    case "supervisor":
      if (frame.event === "status") model.statuses.set(frame.service, frame.detail);
      else {
        model.supervisorEvents.push(frame);
        if (model.supervisorEvents.length > MAX_SUPERVISOR_EVENTS) model.supervisorEvents.shift();
      }
      return;
    case "actor": {
      const actor = actorFor(frame);
      actor.started = frame.at;
      actor.machine = frame.machine;
      actor.parent = frame.parent;
      if (frame.parent !== undefined) actorFor({ ...frame, id: frame.parent }).children.add(frame.id);
      return;
    }
    case "event":
      actorFor(frame).events.push(frame);
      return;
    case "snapshot": {
      const actor = actorFor(frame);
      frame.folded = foldContext(actor.snapshots.at(-1)?.folded, frame);
      actor.snapshots.push(frame);
      return;
    }
    case "actor-end": {
      // Only a root's end is reported: its children end with it and leave the history with it.
      const actor = actorFor(frame);
      for (const id of [actor.id, ...actor.children]) {
        const ended = model.actors.get(id);
        if (ended !== undefined) ended.ended ??= frame;
      }
      model.finished.push(actor.id);
      if (model.finished.length > MAX_FINISHED) {
        const old = model.actors.get(model.finished.shift());
        for (const id of old === undefined ? [] : [old.id, ...old.children]) if (id !== view.selected) model.actors.delete(id);
      }
    }
  }
}

/** Every state path active in a snapshot value, compound states included: `auth`, `auth.awaiting`. */
function activePaths(value, prefix = "") {
  if (typeof value === "string") return [prefix + value];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => [prefix + key, ...activePaths(child, `${prefix}${key}.`)]);
}

function leafPaths(value) {
  const all = activePaths(value);
  return all.filter((path) => !all.some((other) => other.startsWith(`${path}.`)));
}

const duration = (ms) => (ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);
const clockTime = (at) => new Date(at).toISOString().slice(11, 23);

function renderTree() {
  $("root").textContent = model.root;
  const now = Date.now();
  const tree = $("tree");
  tree.replaceChildren();
  for (const branch of model.branches) {
    tree.append(el("div", { class: "branch" }, `${branch.name} (${branch.strategy}${branch.ordered ? ", ordered" : ""})`));
    for (const name of branch.services) {
      const s = model.statuses.get(name);
      const state = s === undefined ? "unknown" : s.paused ? "paused" : s.up ? (s.ready ? "up" : "starting") : "down";
      const facts = s === undefined ? [] : [
        s.up ? `up ${duration(now - s.since)}` : `down ${duration(now - s.since)}`,
        `restarts ${Math.max(0, s.starts - 1)}`,
        s.up ? `thread ${s.childId}` : "",
        s.want !== (s.normallyUp ? "up" : "down") ? `want ${s.want}` : "",
      ].filter(Boolean);
      // The restart count and thread as attributes too: a test (or a user's script) can wait for a
      // restart without parsing the line.
      const attributes = { class: `service ${s?.up ? "up" : "down"} ${s?.paused ? "paused" : ""}`, "data-service": name, "data-state": state };
      if (s !== undefined) Object.assign(attributes, { "data-restarts": String(Math.max(0, s.starts - 1)), "data-thread": String(s.childId) });
      tree.append(el("div", attributes, `${name}: ${state} · ${facts.join(" · ")}`));
    }
  }
  const list = $("supervisor-events");
  list.replaceChildren(...model.supervisorEvents.slice().reverse().map((e) => el("li", {}, `${clockTime(e.at)} ${e.service} ${e.event} ${detailText(e.detail)}`)));
}

function detailText(detail) {
  return Object.entries(detail ?? {}).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}=${v}`).join(" ");
}

function renderActors() {
  const kinds = new Set([...model.actors.values()].map((a) => a.kind));
  const select = $("kind-filter");
  const known = new Set([...select.options].map((o) => o.value));
  for (const kind of [...kinds].sort()) if (!known.has(kind)) select.append(el("option", { value: kind }, kind));
  const kind = select.value;
  const text = $("id-filter").value;
  const children = $("show-children").checked;
  const finished = $("show-finished").checked;
  const now = Date.now();
  const rows = [];
  for (const actor of model.actors.values()) {
    if ((kind && actor.kind !== kind) || (text && !actor.id.includes(text)) || (!children && actor.parent) || (!finished && actor.ended)) continue;
    const last = actor.snapshots.at(-1);
    rows.push(el("tr", { "data-id": actor.id, class: `${actor.ended ? "finished" : "live"} ${actor.id === view.selected ? "selected" : ""}` },
      el("td", {}, actor.id), el("td", {}, actor.machine ?? ""), el("td", {}, last ? leafPaths(last.value).join(", ") : ""),
      el("td", {}, actor.ended ? actor.ended.status : duration(now - actor.started))));
  }
  // Newest first: what just connected is what one is looking for.
  $("actors").tBodies[0].replaceChildren(...rows.reverse());
}

async function loadChart(machine) {
  view.chartFor = machine;
  const chart = $("chart");
  chart.replaceChildren();
  if (machine === undefined) return;
  const response = await fetch(`chart/${encodeURIComponent(machine)}.svg${query}`);
  if (!response.ok || view.chartFor !== machine) return;
  const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
  chart.replaceChildren(document.importNode(svg, true));
  scheduleRender();
}

function renderDetail() {
  const actor = model.actors.get(view.selected);
  $("detail").hidden = actor === undefined;
  if (actor === undefined) return;
  $("detail-title").textContent = `${actor.id}${actor.machine ? ` (${actor.machine})` : ""}`;
  if (view.chartFor !== actor.machine) void loadChart(actor.machine);
  const travel = $("travel");
  const count = actor.snapshots.length;
  travel.max = String(Math.max(0, count - 1));
  if ($("follow").checked || view.cursor === undefined || view.cursor >= count) view.cursor = Math.max(0, count - 1);
  travel.value = String(view.cursor);
  $("travel-position").textContent = count === 0 ? "no snapshots" : `snapshot ${view.cursor + 1} of ${count}`;
  const snapshot = actor.snapshots[view.cursor];
  const at = snapshot?.at ?? Infinity;
  $("active-state").textContent = snapshot ? leafPaths(snapshot.value).join(", ") : "";
  $("actor-status").textContent = actor.ended && view.cursor === count - 1 ? actor.ended.status : snapshot?.status ?? "";
  $("snapshot-time").textContent = snapshot ? `${clockTime(snapshot.at)} (+${snapshot.at - actor.started} ms)` : "";
  // Before the first whole context the journal kept, only the keys changed since are known.
  const partial = snapshot !== undefined && !snapshot.folded.whole;
  $("context-note").textContent = partial ? "partial: this actor's older records were dropped; shown are only the keys changed since, until a snapshot brings the whole context" : "";
  $("context").dataset.partial = String(partial);
  $("context").textContent = snapshot ? JSON.stringify(snapshot.folded.context, null, 2) : "";
  const active = new Set(snapshot ? [actor.machine, ...activePaths(snapshot.value)] : []);
  for (const g of $("chart").querySelectorAll("g.node, g.cluster")) {
    const title = g.querySelector("title")?.textContent ?? "";
    g.classList.toggle("active", active.has(title.replace(/^cluster_/, "")));
  }
  // The events up to the snapshot shown; the one that made it is marked.
  const current = actor.events.findLast((e) => e.at <= at);
  $("events").tBodies[0].replaceChildren(...actor.events.map((e) =>
    el("tr", { class: e.at > at ? "future" : e === current ? "current" : "" },
      el("td", {}, clockTime(e.at)), el("td", {}, String(e.at - actor.started)), el("td", {}, eventText(e.event)), el("td", {}, e.source ?? ""))));
}

function eventText(event) {
  const { type, ...rest } = event ?? {};
  const more = JSON.stringify(rest);
  return more === "{}" ? String(type) : `${type} ${more.length > 160 ? `${more.slice(0, 160)}…` : more}`;
}

let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderTree();
    renderActors();
    renderDetail();
  });
}

$("actors").addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row === null) return;
  view.selected = row.dataset.id;
  view.cursor = undefined;
  scheduleRender();
});
$("travel").addEventListener("input", () => {
  $("follow").checked = false;
  view.cursor = Number($("travel").value);
  scheduleRender();
});
for (const id of ["kind-filter", "id-filter", "show-children", "show-finished", "follow"]) $(id).addEventListener("input", scheduleRender);
setInterval(scheduleRender, 1000);

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/stream${query}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    $("connection").textContent = "live";
    $("connection").className = "";
  };
  ws.onmessage = (message) => {
    for (const frame of msgpackr.unpack(new Uint8Array(message.data))) apply(frame);
    scheduleRender();
  };
  ws.onclose = () => {
    $("connection").textContent = "disconnected";
    $("connection").className = "down";
    // A reconnect gets the journal again: start from a clean model.
    setTimeout(() => {
      Object.assign(model, { statuses: new Map(), supervisorEvents: [], actors: new Map(), finished: [] });
      connect();
    }, 2000);
  };
}
connect();
