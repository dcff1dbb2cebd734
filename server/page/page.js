// The shopping-guide page: search with understood attributes as removable
// chips, recommendations per shopper with their explanations, product
// editing through the live-update routes, and the offline evaluation.
// Plain browser JavaScript, talking only to the server that served it.
"use strict";

const SEARCH_K = 10;
const RECOMMEND_K = 8;
const SIMILAR_K = 6;
const DEBOUNCE_MS = 250;
const UNKNOWN_NOTICE_SHARE = 0.5; // "most of the query" reads as [UNK]
const NEW_SHOPPER = "\u0000new"; // the picker's value for a new shopper

const $ = (id) => document.getElementById(id);

const state = {
  apiKey: sessionStorage.getItem("embedrank-api-key") || "",
  query: "",
  ignore: new Set(), // understood attributes dropped by removing their chip
  searchSeq: 0,
  recommendSeq: 0,
  shopper: "",
  newHistory: [], // product ids of the new shopper, in order of adding
  products: new Map(), // id -> product, for history titles
  editing: null,
};

// ---- talking to the server ---------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const keyUsed = state.apiKey;
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.apiKey) headers["Authorization"] = "Bearer " + state.apiKey;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const message =
      data && data.error ? (typeof data.error === "string" ? data.error : data.error.message) : response.statusText;
    if (response.status === 401 && keyUsed === state.apiKey) $("key-form").hidden = false;
    throw new ApiError(response.status, message || "HTTP " + response.status);
  }
  return data;
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = error.message || String(error);
}

// ---- small DOM helpers ------------------------------------------------------------

// el("p", {className: "x"}, "text", child, ...): text goes in as text, never as HTML.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/;
// Chinese text gets lang="zh-CN", so the browser picks a simplified-Chinese face.
function textEl(tag, props, text) {
  const node = el(tag, props, text);
  if (HAN.test(text)) node.lang = "zh-CN";
  return node;
}

const fmt = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits));
const money = (p) => (p === null || p === undefined ? "no price" : Number(p).toFixed(2));

function productMeta(p) {
  const parts = [p.category, p.brand, p.colour].filter((x) => x);
  return el(
    "p",
    { className: "meta" },
    el("span", { className: "price" }, money(p.price)),
    parts.length ? " · " + parts.join(" · ") : "",
    " · " + p.id,
  );
}

function productActions(p) {
  const actions = el("div", { className: "actions" });
  actions.append(
    el("button", { type: "button", onclick: () => openSimilar(p), "aria-label": "Similar products to " + p.title }, "Similar"),
    el("button", { type: "button", onclick: () => openEdit(p.id), "aria-label": "Edit " + p.title }, "Edit"),
    el("button", { type: "button", onclick: () => addToHistory(p), "aria-label": "Add " + p.title + " to the new shopper's history" }, "Add to history"),
  );
  return actions;
}

// ---- search -----------------------------------------------------------------------

let searchTimer = 0;
function onQueryInput(event) {
  if (event && event.isComposing) return; // an input method is still composing (pinyin, ...): wait for compositionend
  const query = $("query").value.trim();
  if (query !== state.query) state.ignore.clear(); // a new query is understood afresh
  state.query = query;
  clearTimeout(searchTimer);
  document.body.dataset.pending = "1";
  searchTimer = setTimeout(search, DEBOUNCE_MS);
}

// The body's data-pending, data-searching and data-search-query say where
// the search stands (the browser test waits on them).
async function search() {
  clearTimeout(searchTimer);
  delete document.body.dataset.pending;
  const seq = ++state.searchSeq;
  const query = state.query;
  if (!query) {
    renderSearch(null);
    document.body.dataset.searchQuery = "";
    return;
  }
  document.body.dataset.searching = "1";
  try {
    const answer = await api("POST", "/v1/search", { query, k: SEARCH_K, ignore: [...state.ignore] });
    if (seq !== state.searchSeq) return; // a newer search is under way
    showError(null);
    renderSearch(answer);
  } catch (error) {
    if (seq === state.searchSeq) showError(error);
  } finally {
    if (seq === state.searchSeq) {
      delete document.body.dataset.searching;
      document.body.dataset.searchDone = String(seq);
      document.body.dataset.searchQuery = query;
    }
  }
}

function chipLabel(a) {
  if (a.name === "price") return "price " + a.value;
  return a.name + ": " + a.value;
}

function renderSearch(answer) {
  const chips = $("chips");
  const list = $("results");
  chips.replaceChildren();
  list.replaceChildren();
  if (!answer) {
    $("understood").hidden = true;
    $("unknown-notice").hidden = true;
    $("results-summary").textContent = "";
    return;
  }
  const q = answer.query;
  // One chip per understood attribute name and value (a span can be found twice).
  const seen = new Set();
  for (const a of q.attributes) {
    const key = a.name + "\u0000" + a.value;
    if (seen.has(key)) continue;
    seen.add(key);
    const chip = el(
      "li",
      { className: "chip " + a.role, dataset: { name: a.name, role: a.role } },
      textEl("span", null, chipLabel(a)),
      el("span", { className: "role" }, a.role),
      el("button", {
        type: "button",
        title: "Search without this " + a.name,
        "aria-label": "Remove " + chipLabel(a) + " (" + a.role + ")",
        onclick: () => {
          state.ignore.add(a.name);
          search();
          $("query").focus();
        },
      }, "×"),
    );
    chips.append(chip);
  }
  $("understood").hidden = false;
  const st = $("search-text");
  st.textContent = q.search_text;
  st.lang = HAN.test(q.search_text) ? "zh-CN" : "";

  const share = q.unknown_token_share || 0;
  const notice = $("unknown-notice");
  notice.hidden = share < UNKNOWN_NOTICE_SHARE;
  notice.textContent = notice.hidden
    ? ""
    : `The model reads ${Math.round(share * 100)}% of this query's tokens as unknown ([UNK]): its vocabulary ` +
      "does not cover this language, so the cosine rests on the few tokens it knows and the ranking leans on the word " +
      "match (BM25). A multilingual model would fix it.";

  const lexicalWeight = answer.query.lexical_weight;
  const mix =
    answer.query.mode === "hybrid"
      ? `the cosine to the searched text and the BM25 match of its words, fused with lexical weight ${fmt(lexicalWeight, 2)}`
      : answer.query.mode === "lexical"
        ? "the BM25 match of the searched words"
        : "the cosine similarity to the searched text";
  $("results-summary").textContent = answer.results.length
    ? `${answer.results.length} results; score = ${mix}, raised by the boost ` +
      "(the share of boosting attributes a product holds)."
    : "No product passes the filters; remove a chip to widen the search.";
  for (const [i, r] of answer.results.entries()) {
    state.products.set(r.id, r);
    list.append(
      el(
        "li",
        { className: "product", dataset: { id: r.id, brand: r.brand, price: r.price === null ? "" : r.price } },
        el("span", { className: "score", title: "score" }, fmt(r.score)),
        textEl("p", { className: "title" }, `${i + 1}. ${r.title}`),
        productMeta(r),
        el(
          "p",
          { className: "why" },
          "why: cosine ",
          el("b", null, fmt(r.dense_score)),
          ", BM25 ",
          el("b", null, fmt(r.lexical_score, 2)),
          ", boost ",
          el("b", null, fmt(r.boost, 2)),
        ),
        productActions(r),
      ),
    );
  }
}

// ---- shoppers and recommendations ------------------------------------------------------

function showShoppers(answer) {
  const select = $("shopper-select");
  for (const group of select.querySelectorAll("optgroup")) group.remove();
  const named = el("optgroup", { label: "shoppers with a history" });
  const others = el("optgroup", { label: "generated shoppers of the ratings log" });
  for (const u of answer.users) {
    (u.named ? named : others).append(el("option", { value: u.user }, `${u.user} (${u.ratings} ratings)`));
  }
  const fresh = el("optgroup", { label: "start from nothing" }, el("option", { value: NEW_SHOPPER }, "a new shopper"));
  if (named.children.length) select.append(named);
  select.append(fresh);
  if (others.children.length) select.append(others);
}

function onShopperChange() {
  state.shopper = $("shopper-select").value;
  recommend();
}

async function productOf(id) {
  if (!state.products.has(id)) state.products.set(id, await api("GET", "/v1/products/" + encodeURIComponent(id)));
  return state.products.get(id);
}

async function recommend() {
  const seq = ++state.recommendSeq;
  const list = $("recommendations");
  const isNew = state.shopper === NEW_SHOPPER;
  $("history-box").hidden = !state.shopper;
  $("history-hint").hidden = !(isNew && state.newHistory.length === 0);
  if (!state.shopper || (isNew && state.newHistory.length === 0)) {
    list.replaceChildren();
    $("history").replaceChildren();
    $("rec-summary").textContent = state.shopper ? "" : "Pick a shopper to see what the guide recommends and why.";
    return;
  }
  const body = isNew ? { history: state.newHistory, k: RECOMMEND_K } : { user: state.shopper, k: RECOMMEND_K };
  try {
    const answer = await api("POST", "/v1/recommend", body);
    // titles of the history and of every closest-history item
    const ids = new Set([...answer.history, ...answer.results.map((r) => r.closest_history_id).filter((x) => x)]);
    await Promise.all([...ids].map((id) => productOf(id).catch(() => null)));
    if (seq !== state.recommendSeq) return;
    showError(null);
    renderRecommendations(answer, isNew);
  } catch (error) {
    if (seq === state.recommendSeq) showError(error);
  } finally {
    if (seq === state.recommendSeq) document.body.dataset.recommendDone = String(seq);
  }
}

function titleOf(id) {
  const p = state.products.get(id);
  return p ? p.title : id;
}

function renderRecommendations(answer, isNew) {
  const history = $("history");
  history.replaceChildren();
  $("history-label").textContent = isNew
    ? "History (products you added)"
    : `History (${answer.history.length} rated products in the log)`;
  for (const id of answer.history) {
    const item = textEl("li", { dataset: { id } }, titleOf(id));
    if (isNew)
      item.append(el("button", { type: "button", "aria-label": "Remove " + titleOf(id) + " from the history", onclick: () => removeFromHistory(id) }, "×"));
    history.append(item);
  }
  const w = answer.content_weight;
  $("rec-summary").textContent = isNew
    ? "score = content: the cosine of the product to the history's profile. A new shopper has no ratings " +
      "in the log, so no CF score."
    : `score = ${fmt(w, 2)} × content + ${fmt(1 - w, 2)} × CF, each scaled to 0–1 over the candidates; ` +
      "content: the cosine to the history's profile; CF: the rating (1–5) similar shoppers predict.";
  const list = $("recommendations");
  list.replaceChildren();
  for (const [i, r] of answer.results.entries()) {
    state.products.set(r.id, r);
    const neighbours = (r.cf_neighbors || [])
      .slice(0, 3)
      .map((n) => `${n.user} (similarity ${fmt(n.similarity, 2)}, rated ${fmt(n.rating, 0)})`)
      .join(", ");
    list.append(
      el(
        "li",
        { className: "product rec", dataset: { id: r.id } },
        el("span", { className: "score", title: "score" }, fmt(r.score)),
        textEl("p", { className: "title" }, `${i + 1}. ${r.title}`),
        productMeta(r),
        el(
          "p",
          { className: "why explanation" },
          "content ",
          el("b", null, fmt(r.content_score)),
          " · CF ",
          el("b", null, r.cf_score === null ? "–" : fmt(r.cf_score, 1)),
        ),
        r.closest_history_id
          ? el(
              "p",
              { className: "why closest" },
              "closest in history: ",
              textEl("span", null, titleOf(r.closest_history_id)),
              ` (similarity ${fmt(r.closest_similarity, 2)})`,
            )
          : null,
        neighbours ? el("p", { className: "why neighbours" }, "similar shoppers: " + neighbours) : null,
        productActions(r),
      ),
    );
  }
  if (!answer.results.length) $("rec-summary").textContent = "Nothing left to recommend for this history.";
}

function addToHistory(p) {
  if (!state.newHistory.includes(p.id)) state.newHistory.push(p.id);
  state.products.set(p.id, p);
  const select = $("shopper-select");
  if (select.value !== NEW_SHOPPER) {
    select.value = NEW_SHOPPER;
    state.shopper = NEW_SHOPPER;
  }
  recommend();
}

function removeFromHistory(id) {
  state.newHistory = state.newHistory.filter((x) => x !== id);
  recommend();
}

// ---- similar products ------------------------------------------------------------

async function openSimilar(p) {
  const dialog = $("similar-dialog");
  $("similar-of").replaceChildren("Products whose embedding is closest to ", textEl("q", null, p.title), ":");
  const list = $("similar");
  list.replaceChildren();
  dialog.showModal();
  try {
    const answer = await api("GET", `/v1/products/${encodeURIComponent(p.id)}/similar?k=${SIMILAR_K}`);
    for (const s of answer.results) {
      state.products.set(s.id, s);
      list.append(
        el(
          "li",
          { className: "product", dataset: { id: s.id } },
          el("span", { className: "score", title: "cosine similarity" }, fmt(s.score)),
          textEl("p", { className: "title" }, s.title),
          productMeta(s),
          el("div", { className: "actions" },
            el("button", { type: "button", onclick: () => addToHistory(s) }, "Add to history")),
        ),
      );
    }
  } catch (error) {
    list.append(el("li", { className: "error" }, error.message));
  }
}

// ---- editing and removing products -------------------------------------------------

async function openEdit(id) {
  const dialog = $("edit-dialog");
  $("edit-error").hidden = true;
  try {
    const p = await api("GET", "/v1/products/" + encodeURIComponent(id));
    state.editing = p;
    $("edit-id").textContent = "Product " + p.id + ": saving re-embeds it if its text changed.";
    $("edit-product-title").value = p.title;
    $("edit-price").value = p.price === null ? "" : p.price;
    $("edit-category").value = p.category;
    $("edit-brand").value = p.brand;
    $("edit-colour").value = p.colour;
    $("edit-description").value = p.description;
    $("edit-attributes").value = Object.entries(p.attributes || {})
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n");
    dialog.showModal();
    $("edit-product-title").focus();
  } catch (error) {
    showError(error);
  }
}

function editedProduct() {
  const p = state.editing;
  const attributes = {};
  for (const line of $("edit-attributes").value.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name) attributes[name] = line.slice(colon + 1).trim();
  }
  const price = $("edit-price").value.trim();
  return {
    id: p.id,
    title: $("edit-product-title").value.trim(),
    description: $("edit-description").value,
    category: $("edit-category").value.trim(),
    brand: $("edit-brand").value.trim(),
    colour: $("edit-colour").value.trim(),
    price: price === "" ? null : Number(price),
    attributes,
  };
}

async function afterChange() {
  state.products.clear();
  await Promise.all([search(), recommend()]);
}

async function saveEdit(event) {
  event.preventDefault();
  const product = editedProduct();
  try {
    await api("PUT", "/v1/products/" + encodeURIComponent(product.id), product);
    $("edit-dialog").close();
    await afterChange();
    for (const item of document.querySelectorAll(`li.product[data-id="${CSS.escape(product.id)}"]`))
      item.classList.add("changed");
  } catch (error) {
    $("edit-error").hidden = false;
    $("edit-error").textContent = error.message;
  }
}

async function removeEdited() {
  const id = state.editing.id;
  try {
    await api("DELETE", "/v1/products/" + encodeURIComponent(id));
    $("edit-dialog").close();
    state.newHistory = state.newHistory.filter((x) => x !== id);
    await afterChange();
  } catch (error) {
    $("edit-error").hidden = false;
    $("edit-error").textContent = error.message;
  }
}

// ---- the evaluation --------------------------------------------------------------------

function showEvaluation(answer) {
  const note = $("eval-note");
  if (!answer.rows.length) {
    note.textContent = "This server was started without --evaluation FILE, so there are no figures to show.";
    return;
  }
  note.textContent =
    `Each generated shopper's newest liked item held out; HR@${answer.k}: it is among the top ${answer.k}, ` +
    `NDCG@${answer.k}: also how high. Read from ${answer.source.split("/").pop()} (shopping_guide --eval-out), computed on the ` +
    `catalogue as loaded. The dashed line marks the blend this server recommends with (content weight ${fmt(answer.content_weight, 1)}).`;
  $("eval-chart").replaceChildren(evaluationChart(answer));
  const body = $("eval-table").tBodies[0];
  body.replaceChildren();
  for (const r of answer.rows) {
    const served = r.content_weight !== null && Math.abs(r.content_weight - answer.content_weight) < 1e-9;
    body.append(
      el(
        "tr",
        { className: served ? "served" : "" },
        el("td", null, r.method),
        el("td", null, r.content_weight === null ? "–" : fmt(r.content_weight, 1)),
        el("td", null, fmt(r.hit_rate)),
        el("td", null, fmt(r.ndcg)),
      ),
    );
  }
  $("eval-details").hidden = false;
}

// HR@k and NDCG@k over the content weight w (0: CF only, 1: content only),
// the rows without a weight (most popular) as dotted lines, the served w
// as a dashed one: the figure of docs/shop-eval.png, drawn as SVG.
function evaluationChart(answer) {
  const W = 360, H = 190, left = 32, right = 8, top = 8, bottom = 30;
  const blends = answer.rows.filter((r) => r.content_weight !== null).sort((a, b) => a.content_weight - b.content_weight);
  const baselines = answer.rows.filter((r) => r.content_weight === null);
  const top_value = Math.max(...answer.rows.map((r) => Math.max(r.hit_rate, r.ndcg)), 0.1);
  const yMax = Math.min(1, Math.ceil(top_value * 5 + 0.5) / 5); // a round 0.2 step above the best
  const x = (w) => left + w * (W - left - right);
  const y = (v) => top + (1 - v / yMax) * (H - top - bottom);
  const svg = (tag, attributes, ...children) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const best = (key) => blends.reduce((a, b) => (b[key] > a[key] ? b : a));
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label":
      `HR@${answer.k} and NDCG@${answer.k} over the content weight: best HR ${fmt(best("hit_rate").hit_rate)} ` +
      `at w ${fmt(best("hit_rate").content_weight, 1)}; the table below has every figure.`,
  });
  for (let v = 0; v <= yMax + 1e-9; v += 0.2) {
    chart.append(svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: left - 4, y: y(v) + 3.5, class: "tick", "text-anchor": "end" }, v.toFixed(1)));
  }
  for (let w = 0; w <= 1 + 1e-9; w += 0.2)
    chart.append(svg("text", { x: x(w), y: H - bottom + 13, class: "tick", "text-anchor": "middle" }, w.toFixed(1)));
  chart.append(svg("text", { x: (left + W - right) / 2, y: H - 4, class: "axis", "text-anchor": "middle" },
    "content weight w (0: CF only, 1: content only)"));
  for (const b of baselines) {
    chart.append(svg("line", { x1: left, x2: W - right, y1: y(b.hit_rate), y2: y(b.hit_rate), class: "baseline" }));
    chart.append(svg("text", { x: x(0.5), y: y(b.hit_rate) - 3, class: "tick", "text-anchor": "middle" }, b.method));
  }
  chart.append(svg("line", { x1: x(answer.content_weight), x2: x(answer.content_weight), y1: top, y2: H - bottom, class: "served" }),
    svg("text", { x: x(answer.content_weight) + 3, y: top + 9, class: "tick" }, `served w ${fmt(answer.content_weight, 1)}`));
  for (const [key, cls] of [["hit_rate", "hr"], ["ndcg", "ndcg"]]) {
    const points = blends.map((r) => `${x(r.content_weight).toFixed(1)},${y(r[key]).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), class: "series " + cls }));
    for (const r of blends) chart.append(svg("circle", { cx: x(r.content_weight), cy: y(r[key]), r: 2.6, class: "dot " + cls }));
  }
  return chart;
}

// ---- start ---------------------------------------------------------------------------

async function serverReady() {
  for (;;) {
    const response = await fetch("/health").catch(() => null);
    if (response && response.ok) return;
    $("server-status").textContent = "the server is still loading the model and the shop…";
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function start() {
  $("query").addEventListener("input", onQueryInput);
  $("query").addEventListener("compositionend", () => onQueryInput());
  $("query").addEventListener("keydown", (e) => {
    if (e.key === "Enter") search();
  });
  $("shopper-select").addEventListener("change", onShopperChange);
  $("edit-form").addEventListener("submit", saveEdit);
  $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
  $("edit-remove").addEventListener("click", removeEdited);
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.apiKey = $("api-key").value;
    sessionStorage.setItem("embedrank-api-key", state.apiKey);
    $("key-form").hidden = true;
    startData();
  });
  await serverReady();
  await startData();
}

// What the page reads from the server once: again after an API key is
// given, when a run without it may still be under way (its answers are dropped).
let dataRun = 0;
async function startData() {
  const run = ++dataRun;
  try {
    const info = await api("GET", "/info");
    if (run !== dataRun) return;
    $("server-status").textContent =
      `model ${info.model_id}` + (info.shop ? ` · ${info.shop.products} products` : " · no shop loaded");
  } catch (error) {
    if (run === dataRun) $("server-status").textContent = "";
  }
  try {
    const [users, evaluation] = await Promise.all([api("GET", "/v1/users?limit=40"), api("GET", "/v1/evaluation")]);
    if (run !== dataRun) return;
    showShoppers(users);
    showEvaluation(evaluation);
    showError(null);
    document.body.dataset.ready = "1";
    if (state.query) search();
  } catch (error) {
    if (run === dataRun) showError(error);
  }
}

start();
