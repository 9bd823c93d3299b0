// The chat page: sends each question to /v1/chat/completions, shows the answer as its tokens stream in
// (fetch + ReadableStream reading the server-sent events), then the sources the answer was built from, the
// ones it cited marked. While the request waits for the model, the server's queue position is shown.
"use strict";

const config = JSON.parse(document.getElementById("ragjet-config").textContent);
const KEY_STORAGE = "ragjet-api-key";

const chat = document.getElementById("chat");
const welcome = document.getElementById("welcome");
const composer = document.getElementById("composer");
const question = document.getElementById("question");
const sendButton = document.getElementById("send");
const attachButton = document.getElementById("attach");
const fileInput = document.getElementById("file");
const keybar = document.getElementById("keybar");
const keyInput = document.getElementById("apikey");

let controller = null; // the AbortController of the answer being streamed, if any

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function headers(extra) {
  const key = localStorage.getItem(KEY_STORAGE);
  return Object.assign(key ? { Authorization: `Bearer ${key}` } : {}, extra || {});
}

function nearBottom() {
  return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
}

function scrollDown(force) {
  if (force || nearBottom()) chat.scrollTop = chat.scrollHeight;
}

// A little Markdown, as chat models write it: **bold**, `code` and "# heading" lines. The text is escaped
// first, so nothing the model writes becomes markup of its own.
function renderMarkdown(text) {
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return escaped
    .replace(/^#{1,6} +(.+)$/gm, "<strong>$1</strong>")
    .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
    .replace(/`([^`\n]+)`/g, "<code>$1</code>");
}

function addMessage(role) {
  welcome.hidden = true;
  const row = el("div", `message ${role}`);
  const bubble = el("div", "bubble");
  row.appendChild(bubble);
  chat.appendChild(row);
  scrollDown(true);
  return { row, bubble };
}

function addNote(text, kind) {
  const { bubble } = addMessage(`note ${kind || ""}`);
  bubble.textContent = text;
}

// One assistant answer on the page: text that grows, then its sources, or an error.
class Answer {
  constructor() {
    const { row, bubble } = addMessage("assistant");
    this.row = row;
    this.text = el("div", "text");
    this.markdown = "";
    bubble.appendChild(this.text);
    row.classList.add("streaming");
  }

  queued(position) {
    if (!this.waiting) {
      this.waiting = el("div", "queued");
      this.row.querySelector(".bubble").appendChild(this.waiting);
    }
    this.waiting.textContent = position === 1
      ? "Waiting for the model: 1 request ahead of yours…"
      : `Waiting for the model: ${position} requests ahead of yours…`;
  }

  append(piece) {
    if (this.waiting) {
      this.waiting.remove();
      this.waiting = null;
    }
    const follow = nearBottom();
    this.markdown += piece;
    this.text.innerHTML = renderMarkdown(this.markdown);
    if (follow) scrollDown(true);
  }

  fail(message) {
    this.row.querySelector(".bubble").appendChild(el("div", "error", `⚠ ${message}`));
    scrollDown(true);
  }

  stopped() {
    this.row.querySelector(".bubble").appendChild(el("div", "stopped", "stopped"));
  }

  notices(list) {
    for (const text of list || []) this.row.querySelector(".bubble").appendChild(el("div", "notice", `Note: ${text}`));
  }

  // An answer whose key words no source holds, or that no sentence of the sources supports, is flagged.
  ungrounded(terms, unsupported) {
    if ((!terms || !terms.length) && !unsupported) return;
    const bubble = this.row.querySelector(".bubble");
    bubble.classList.add("ungrounded");
    bubble.insertBefore(el("div", "ungrounded-flag", "⚠ not found in the sources"), bubble.firstChild);
  }

  // The sentence of the sources the answer rests on, quoted under it, so a reader can check the answer.
  evidence(quote) {
    if (!quote || !quote.text) return;
    const box = el("blockquote", "evidence");
    box.appendChild(el("span", "evidence-source", `From [${quote.source}]: `));
    box.appendChild(el("span", "evidence-text", `“${quote.text}”`));
    this.row.querySelector(".bubble").appendChild(box);
  }

  sources(list, cited) {
    if (!list || !list.length) return;
    const follow = nearBottom();
    const box = el("details", Array.isArray(cited) ? "sources with-citations" : "sources");
    box.open = true;
    const count = cited && cited.length ? `, ${cited.length} cited` : "";
    box.appendChild(el("summary", "", `Sources (${list.length}${count})`));
    const items = el("ol");
    list.forEach((source, i) => {
      const item = el("li", source.cited ? "source cited" : "source");
      const head = el("div", "source-head");
      const name = el("span", "file");
      name.appendChild(el("span", "number", `[${i + 1}]`));
      name.appendChild(document.createTextNode(` ${source.file || "(no file)"}`));
      if (source.cited) name.appendChild(el("span", "cited-mark", "cited"));
      head.appendChild(name);
      if (source.score !== null && source.score !== undefined) {
        head.appendChild(el("span", "score", `score ${Number(source.score).toFixed(3)}`));
      }
      item.appendChild(head);
      const snippet = el("p", "snippet", source.snippet || "");
      snippet.title = "Click to show all of it";
      snippet.addEventListener("click", () => snippet.classList.toggle("expanded"));
      item.appendChild(snippet);
      items.appendChild(item);
    });
    box.appendChild(items);
    this.row.appendChild(box);
    scrollDown(follow);
  }

  done() {
    if (this.waiting) this.waiting.remove();
    this.row.classList.remove("streaming");
    if (!this.text.textContent && !this.row.querySelector(".error, .stopped")) this.text.textContent = "(no answer)";
  }
}

// The "data:" payloads of a server-sent event stream, as they arrive.
async function* sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart());
      if (data.length) yield data.join("\n");
    }
  }
}

async function errorMessage(response) {
  if (response.status === 401) showKeybar();
  try {
    const body = await response.json();
    return body.error ? body.error.message : `HTTP ${response.status}`;
  } catch (_) {
    return `HTTP ${response.status} ${response.statusText}`;
  }
}

async function ask(text) {
  const { bubble } = addMessage("user");
  bubble.textContent = text;
  const answer = new Answer();
  controller = new AbortController();
  setBusy(true);
  try {
    const response = await fetch("v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ model: config.title, stream: config.stream, messages: [{ role: "user", content: text }] }),
      signal: controller.signal,
    });
    if (!response.ok) {
      answer.fail(await errorMessage(response));
    } else if (config.stream) {
      for await (const data of sseData(response)) {
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data);
        if (chunk.error) {
          answer.fail(chunk.error.message);
          continue;
        }
        if (chunk.queue) answer.queued(chunk.queue.position);
        const choice = chunk.choices[0];
        if (choice && choice.delta.content) answer.append(choice.delta.content);
        if (chunk.ungrounded) answer.ungrounded(chunk.ungrounded, chunk.unsupported);
        if (chunk.evidence) answer.evidence(chunk.evidence);
        if (chunk.notices) answer.notices(chunk.notices);
        if (chunk.sources) answer.sources(chunk.sources, chunk.cited);
      }
    } else {
      const body = await response.json();
      answer.append(body.choices[0].message.content);
      answer.ungrounded(body.ungrounded, body.unsupported);
      answer.evidence(body.evidence);
      answer.notices(body.notices);
      answer.sources(body.sources, body.cited);
    }
  } catch (error) {
    if (error.name === "AbortError") answer.stopped();
    else answer.fail(`connection failed: ${error.message}`);
  } finally {
    answer.done();
    controller = null;
    setBusy(false);
  }
}

function setBusy(busy) {
  sendButton.textContent = busy ? "Stop" : "Send";
  sendButton.classList.toggle("stop", busy);
  sendButton.type = busy ? "button" : "submit";
  if (!busy) question.focus();
}

function resize() {
  question.style.height = "auto";
  question.style.height = `${Math.min(question.scrollHeight, 200)}px`;
}

function showKeybar() {
  keybar.hidden = false;
  keyInput.focus();
}

async function followIndexing(job) {
  // a large upload is indexed in the background: ask its status URL until it is done
  addNote(`Stored ${job.file}; indexing it…`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await fetch(job.status_url.replace(/^\//, ""), { headers: headers() });
    const status = response.ok ? await response.json() : { state: "failed", error: await errorMessage(response) };
    if (status.state === "done") return addNote(`Added ${job.file}: it is searched from now on.`, "good");
    if (status.state === "failed") return addNote(`Could not index ${job.file}: ${status.error}`, "bad");
  }
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  addNote(`Uploading ${file.name}…`);
  try {
    const response = await fetch("v1/documents", { method: "POST", headers: headers(), body: form });
    if (!response.ok) addNote(`Could not add ${file.name}: ${await errorMessage(response)}`, "bad");
    else if (response.status === 202) await followIndexing(await response.json());
    else addNote(`Added ${(await response.json()).file}: it is searched from now on.`, "good");
  } catch (error) {
    addNote(`Could not add ${file.name}: ${error.message}`, "bad");
  }
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = question.value.trim();
  if (!text || controller) return;
  question.value = "";
  resize();
  ask(text);
});

sendButton.addEventListener("click", () => {
  if (controller) controller.abort();
});

question.addEventListener("keydown", (event) => {
  // Enter sends, except while an input method (Chinese, Japanese…) is composing a word.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    composer.requestSubmit();
  }
});
question.addEventListener("input", resize);

keybar.addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  keyInput.value = "";
  keybar.hidden = true;
  question.focus();
});

if (config.upload) {
  attachButton.hidden = false;
  fileInput.accept = config.extensions.join(",");
  attachButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) upload(fileInput.files[0]);
    fileInput.value = "";
  });
}
if (config.auth && !localStorage.getItem(KEY_STORAGE)) showKeybar();
