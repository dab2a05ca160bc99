// The dashboard page: logs in with a bearer token (kept in sessionStorage), then lists and
// watches nodes, pods and workloads straight from the API with that token, and polls
// metrics.k8s.io for usage. Text goes into the page through textContent only.
import { LineSplitter, foldEvent, formatCpu, formatMem, keyOf, metricsUsage, nodeBin, podStatus, rollout, tokenFrom } from "./logic.js";

const TOKEN_KEY = "bramble-dashboard-token";
const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "style") Object.assign(e.style, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
};

class Unauthorized extends Error {}
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let token = sessionStorage.getItem(TOKEN_KEY);
let running; // AbortController of the live views
// A browser opens at most 6 HTTP/1.1 connections to one server, and each watch holds one: three
// watches leave room for the reads (metrics, events, logs, the kinds read every 10 seconds).
const POLL_MS = 10000;
const RESOURCES = [
  { name: "nodes", base: "/api/v1" },
  { name: "pods", base: "/api/v1", namespaced: true },
  { name: "deployments", base: "/apis/apps/v1", namespaced: true, kind: "Deployment" },
  { name: "statefulsets", base: "/apis/apps/v1", namespaced: true, kind: "StatefulSet", poll: true },
  { name: "daemonsets", base: "/apis/apps/v1", namespaced: true, kind: "DaemonSet", poll: true },
  { name: "jobs", base: "/apis/batch/v1", namespaced: true, kind: "Job", poll: true },
];
const NAMESPACE_KEY = "bramble-dashboard-namespace";
/** One namespace, or "" for all (which needs a cluster-wide list permission). */
let namespace = sessionStorage.getItem(NAMESPACE_KEY) ?? "";
const pathOf = (base, plural, namespaced) => (namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`);
const objects = Object.fromEntries(RESOURCES.map((r) => [r.name, new Map()]));
const errors = {};
const usage = { nodes: new Map(), pods: new Map() };

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { accept: "application/json", ...init.headers, authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
  if (res.status === 401) throw new Unauthorized("Unauthorized");
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      message = (await res.json()).message || message;
    } catch {}
    throw new ApiError(res.status, message);
  }
  return res;
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * List, then watch from the list's resourceVersion; resume after a stream ends, list again on
 * 410 Gone. A kind that is only polled is listed again every 10 seconds.
 */
async function sync(r, signal) {
  const map = objects[r.name];
  const path = pathOf(r.base, r.name, r.namespaced);
  while (!signal.aborted) {
    try {
      const list = await (await api(path, { signal })).json();
      map.clear();
      for (const o of list.items) map.set(keyOf(o), o);
      delete errors[r.name];
      render();
      if (r.poll) {
        await sleep(POLL_MS, signal);
        continue;
      }
      let rv = list.metadata.resourceVersion;
      let expired = false;
      while (!expired && !signal.aborted) {
        const res = await api(`${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`, { signal });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const lines = new LineSplitter();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const line of lines.push(value)) {
            const next = foldEvent(map, JSON.parse(line));
            if (next === "expired") expired = true;
            else if (next) rv = next;
          }
          render();
          if (expired) {
            await reader.cancel();
            break;
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof Unauthorized) return logout("Unauthorized: the API server no longer accepts this token.");
      // What may not be read is not shown stale; after a dropped connection the last state stays.
      if (e.status === 403 || e.status === 404) map.clear();
      errors[r.name] = e.status === 403 && r.namespaced && !namespace ? `${e.message} (choose a namespace above)` : e.message;
      render();
      await sleep(3000, signal);
    }
  }
}

/** metrics.k8s.io has no watch: read it every 15 seconds. */
async function pollMetrics(signal) {
  while (!signal.aborted) {
    for (const kind of ["nodes", "pods"]) {
      try {
        const list = await (await api(pathOf("/apis/metrics.k8s.io/v1beta1", kind, kind === "pods"), { signal })).json();
        usage[kind] = new Map(list.items.map((m) => [keyOf(m), metricsUsage(m)]));
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof Unauthorized) return logout("Unauthorized: the API server no longer accepts this token.");
        usage[kind] = new Map();
      }
    }
    render();
    await sleep(15000, signal);
  }
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    renderNodes();
    renderWorkloads();
    renderPods();
  }, 50);
}

function sectionError(section, names) {
  const p = $(`#${section} .error`);
  const msg = names.map((n) => errors[n]).filter(Boolean).join("; ");
  p.textContent = msg;
  p.hidden = !msg;
}

const hue = (s) => {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
};
/** Pods of one workload share a colour: the name without its pod-template hash and random suffix. */
const ownerOf = (pod) => pod.metadata.generateName?.replace(/-[a-z0-9]{5,10}-$|-$/, "") ?? pod.metadata.name;

function renderNodes() {
  sectionError("nodes", ["nodes", "pods"]);
  const pods = [...objects.pods.values()];
  const bins = $("#nodes .bins");
  const nodes = [...objects.nodes.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  bins.replaceChildren(...nodes.map((node) => {
    const bin = nodeBin(node, pods, usage.nodes.get(node.metadata.name));
    const ready = (node.status?.conditions ?? []).find((c) => c.type === "Ready");
    const podsByKey = new Map(pods.map((p) => [keyOf(p), p]));
    const bar = (res, label, fmt) => {
      const track = el("div", { className: "track", dataset: { resource: res } });
      for (const s of bin.segments) {
        const pod = podsByKey.get(s.key);
        const seg = el("div", {
          className: "seg",
          title: `${s.key}: ${res === "cpu" ? formatCpu(s.request.cpu) : formatMem(s.request.mem)}`,
          dataset: { pod: s.key, request: String(res === "cpu" ? s.request.cpu : s.request.mem), width: s[res].width.toFixed(2) },
          style: { left: `${s[res].offset}%`, width: `${s[res].width}%`, background: `hsl(${hue(ownerOf(pod))} 55% ${res === "cpu" ? 62 : 70}%)` },
        });
        seg.addEventListener("click", () => showPod(pod));
        track.append(seg);
      }
      if (bin.usagePct) track.append(el("div", { className: "usage", title: `used ${fmt(bin.usage[res])}`, dataset: { usage: String(bin.usage[res]) }, style: { width: `${Math.min(100, bin.usagePct[res])}%` } }));
      if (bin.requestedPct[res] > 100) track.classList.add("over");
      const used = bin.usage ? ` · used ${fmt(bin.usage[res])}` : "";
      return el("div", { className: "bar" },
        el("div", { className: "label" }, `${label}: ${fmt(bin.requested[res])} of ${fmt(bin.allocatable[res])} requested (${Math.round(bin.requestedPct[res])}%)${used}`),
        track);
    };
    const condition = ready?.status === "True" ? "Ready" : "NotReady";
    return el("article", { className: "node", dataset: { node: node.metadata.name, pods: String(bin.segments.length) } },
      el("h3", {}, node.metadata.name, el("span", { className: `cond${condition === "Ready" ? "" : " bad"}` }, `${condition}${node.spec?.unschedulable ? ", cordoned" : ""} · ${bin.segments.length} pods`)),
      bar("cpu", "CPU", formatCpu),
      bar("mem", "Memory", formatMem));
  }));
}

function renderWorkloads() {
  const kinds = RESOURCES.filter((r) => r.kind);
  sectionError("workloads", kinds.map((r) => r.name));
  const rows = [];
  for (const r of kinds) {
    for (const o of [...objects[r.name].values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))) {
      const st = rollout(r.kind, o);
      rows.push(el("tr", { dataset: { workload: `${r.kind}/${keyOf(o)}`, ready: String(st.ready), desired: String(st.desired), state: st.state } },
        el("td", {}, r.kind), el("td", {}, o.metadata.namespace ?? ""), el("td", {}, o.metadata.name),
        el("td", {}, `${st.ready}/${st.desired}`), el("td", { className: `state-${st.state}` }, st.state)));
    }
  }
  $("#workloads tbody").replaceChildren(...rows);
}

function renderPods() {
  sectionError("pods", ["pods"]);
  const pods = [...objects.pods.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  $("#pods tbody").replaceChildren(...pods.map((p) => {
    const st = podStatus(p);
    const u = usage.pods.get(keyOf(p));
    const tr = el("tr", { dataset: { pod: keyOf(p), status: st.status } },
      el("td", {}, p.metadata.namespace), el("td", {}, p.metadata.name), el("td", { className: `st-${st.status}` }, st.status),
      el("td", {}, st.ready), el("td", {}, String(st.restarts)), el("td", {}, p.spec?.nodeName ?? "<none>"),
      el("td", {}, u ? formatCpu(u.cpu) : "–"), el("td", {}, u ? formatMem(u.mem) : "–"));
    tr.addEventListener("click", () => showPod(p));
    return tr;
  }));
}

async function showPod(pod) {
  if (!pod) return;
  const { namespace, name, uid } = pod.metadata;
  const panel = $("#detail");
  panel.dataset.pod = `${namespace}/${name}`;
  $("#detail-title").textContent = `${namespace}/${name}`;
  const events = $("#detail-events");
  const logPre = $("#detail-log");
  events.replaceChildren(el("li", {}, "loading…"));
  logPre.textContent = "loading…";
  panel.hidden = false;
  const ns = encodeURIComponent(namespace);
  try {
    const list = await (await api(`/api/v1/namespaces/${ns}/events`)).json();
    const mine = list.items
      .filter((e) => e.involvedObject?.kind === "Pod" && e.involvedObject?.name === name && (!e.involvedObject.uid || e.involvedObject.uid === uid))
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")));
    events.replaceChildren(...(mine.length ? mine.map((e) => el("li", { className: e.type === "Warning" ? "error" : "" }, `${e.reason}: ${e.message}${e.count > 1 ? ` (×${e.count})` : ""}`)) : [el("li", {}, "no events")]));
  } catch (e) {
    events.replaceChildren(el("li", { className: "error" }, e.message));
  }
  try {
    const container = pod.spec?.containers?.[0]?.name;
    const res = await api(`/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}/log?tailLines=50${container ? `&container=${encodeURIComponent(container)}` : ""}`, { headers: { accept: "text/plain" } });
    logPre.textContent = (await res.text()) || "(empty)";
  } catch (e) {
    logPre.textContent = e.message;
  }
}

function showLoginError(message) {
  const p = $("#login-error");
  p.textContent = message;
  p.hidden = !message;
}

function logout(message = "") {
  running?.abort();
  running = undefined;
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(NAMESPACE_KEY);
  namespace = "";
  for (const m of Object.values(objects)) m.clear();
  $("#views").hidden = $("#nav").hidden = $("#logout").hidden = $("#ns").hidden = $("#detail").hidden = true;
  render();
  $("#who").textContent = "";
  $("#login").hidden = false;
  showLoginError(message);
}

/** Checks the token (who the API server says it is), then starts the live views. */
async function start() {
  let who = "";
  try {
    const res = await api("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
    });
    who = (await res.json()).status?.userInfo?.username ?? "";
  } catch (e) {
    if (e instanceof Unauthorized) return logout("Unauthorized: the API server did not accept this token.");
    if (!(e instanceof ApiError)) return logout(`The API server did not answer: ${e.message}`);
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  showLoginError("");
  $("#login").hidden = true;
  $("#views").hidden = $("#nav").hidden = $("#logout").hidden = $("#ns").hidden = false;
  $("#who").textContent = who ? `logged in as ${who}` : "logged in";
  $("#namespace").value = namespace;
  watchAll();
}

/** (Re)starts the lists, watches and metrics reads, for the namespace chosen. */
function watchAll() {
  running?.abort();
  running = new AbortController();
  for (const m of Object.values(objects)) m.clear();
  for (const k of Object.keys(errors)) delete errors[k];
  render();
  for (const r of RESOURCES) sync(r, running.signal);
  pollMetrics(running.signal);
}

$("#login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const found = tokenFrom($("#token").value);
  if (!found) return showLoginError("No token found: paste a bearer token, or a kubeconfig whose user has a token.");
  token = found;
  $("#token").value = "";
  start();
});
$("#logout").addEventListener("click", () => logout());
$("#namespace").addEventListener("change", () => {
  namespace = $("#namespace").value.trim();
  sessionStorage.setItem(NAMESPACE_KEY, namespace);
  watchAll();
});
$("#detail-close").addEventListener("click", () => ($("#detail").hidden = true));
document.addEventListener("keydown", (e) => e.key === "Escape" && ($("#detail").hidden = true));

if (token) start();
