// WeMaster chat console: a thin client of the public REST + websocket contract (docs/API.md).
// Message bodies are only ever inserted with textContent: HTML is shown as text, never run.
"use strict";

const state = {
  token: sessionStorage.getItem("wm.token"),
  me: null,
  conversations: new Map(),
  openId: null,
  lastEventId: Number(sessionStorage.getItem("wm.lastEventId") || 0),
  socket: null,
  reconnectDelay: 500,
  lastTypingSent: 0,
  typingTimer: null,
  pingTimer: null,
  notifications: new Map(),  // id -> notification, as GET /notifications and notification.created show it
  unreadNotifications: 0,
};

// The server closes a connection silent for MESSAGING_WS_IDLE_TIMEOUT (300 s by default).
const PING_EVERY_MS = 60000;


const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers["Authorization"] = `Token ${state.token}`;
  const response = await fetch(`/api/v1/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `HTTP ${response.status}`);
    error.code = data.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

function conversationName(conversation) {
  if (conversation.title) return conversation.title;
  const others = (conversation.participants || conversation.members || [])
    .filter((p) => (p.id ?? p.user?.id ?? p) !== state.me.id)
    .map((p) => p.display_name ?? p.user?.display_name ?? `user ${p.id ?? p}`);
  return others.length ? others.join(", ") : `Conversation ${conversation.id}`;
}

function displayName(conversationId, userId) {
  if (userId === state.me.id) return state.me.display_name;
  const participant = (state.conversations.get(conversationId)?.participants || []).find((p) => p.id === userId);
  return participant?.display_name || `user ${userId}`;
}

function renderConversations() {
  const list = $("conversations");
  list.replaceChildren();
  const sorted = [...state.conversations.values()].sort(
    (a, b) => (b.last_message?.id || 0) - (a.last_message?.id || 0) || b.id - a.id);
  let total = 0;
  for (const conversation of sorted) {
    const item = document.createElement("li");
    item.dataset.conversation = conversation.id;
    item.className = conversation.id === state.openId ? "active" : "";
    const name = document.createElement("span");
    name.textContent = conversationName(conversation);
    item.append(name);
    const unread = conversation.unread_count || 0;
    total += unread;
    if (unread > 0) {
      const badge = document.createElement("span");
      badge.className = "badge unread";
      badge.textContent = String(unread);
      item.append(badge);
    }
    item.addEventListener("click", () => openConversation(conversation.id));
    list.append(item);
  }
  $("unread-total").hidden = total === 0;
  $("unread-total").textContent = String(total);
}

function renderMessage(message) {
  let item = document.querySelector(`#messages li[data-message="${message.id}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.message = message.id;
    $("messages").append(item);
  }
  item.replaceChildren();
  const sender = document.createElement("span");
  sender.className = "sender";
  sender.textContent = displayName(message.conversation, message.sender?.id ?? message.sender);
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = message.deleted ? "(deleted)" : message.body;
  item.className = message.deleted ? "deleted" : "";
  item.append(sender, body);
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function openConversation(id) {
  state.openId = id;
  const conversation = state.conversations.get(id);
  $("conversation-title").textContent = conversation ? conversationName(conversation) : `Conversation ${id}`;
  $("messages").replaceChildren();
  $("send-form").hidden = false;
  const page = await api("GET", `conversations/${id}/messages?page_size=50`);
  const messages = [...page.results].sort((a, b) => a.id - b.id);
  messages.forEach(renderMessage);
  if (messages.length) await markRead(id, messages[messages.length - 1].id);
  renderConversations();
}

async function markRead(conversationId, messageId) {
  await api("POST", `conversations/${conversationId}/read`, { message_id: messageId });
  const conversation = state.conversations.get(conversationId);
  if (conversation) conversation.unread_count = 0;
}

async function loadConversations() {
  const page = await api("GET", "conversations?page_size=100");
  state.conversations = new Map(page.results.map((c) => [c.id, c]));
  renderConversations();
}

function renderNotifications() {
  const badge = $("notification-badge");
  badge.hidden = state.unreadNotifications === 0;
  badge.textContent = String(state.unreadNotifications);
  const list = $("notifications");
  list.replaceChildren();
  const newest = [...state.notifications.values()].sort((a, b) => b.id - a.id);
  for (const notification of newest) {
    const item = document.createElement("li");
    item.dataset.notification = notification.id;
    item.className = notification.read_at ? "" : "unread";
    const when = document.createElement("time");
    when.dateTime = notification.created_at;
    when.textContent = new Date(notification.created_at).toLocaleString();
    item.append(document.createTextNode(notification.text), when);
    list.append(item);
  }
}

async function loadNotifications() {
  const [page, count] = await Promise.all([
    api("GET", "notifications?page_size=20"),
    api("GET", "notifications/unread-count"),
  ]);
  state.notifications = new Map(page.results.map((n) => [n.id, n]));
  state.unreadNotifications = count.unread;
  renderNotifications();
}

function notificationCreated(notification) {
  // A replay after a reconnect may repeat one the list already holds: count it once.
  if (!state.notifications.has(notification.id) && !notification.read_at) state.unreadNotifications += 1;
  state.notifications.set(notification.id, notification);
  renderNotifications();
}

async function readAllNotifications() {
  const newest = Math.max(0, ...state.notifications.keys());
  if (!newest) return;
  const { unread } = await api("POST", "notifications/read", { up_to: newest });
  const now = new Date().toISOString();
  for (const notification of state.notifications.values()) notification.read_at ??= now;
  state.unreadNotifications = unread;
  renderNotifications();
}

function handleEvent(event) {
  if (event.event_id) {
    state.lastEventId = Math.max(state.lastEventId, event.event_id);
    sessionStorage.setItem("wm.lastEventId", String(state.lastEventId));
  }
  if (event.type === "message.created" || event.type === "message.updated" || event.type === "message.deleted") {
    const message = event.message;
    const conversationId = message.conversation;
    const conversation = state.conversations.get(conversationId);
    const mine = (message.sender?.id ?? message.sender) === state.me.id;
    if (conversationId === state.openId) {
      renderMessage(message);
      $("typing").textContent = "";
      if (event.type === "message.created" && !mine) markRead(conversationId, message.id);
    } else if (event.type === "message.created" && !mine && conversation) {
      conversation.unread_count = (conversation.unread_count || 0) + 1;
    }
    if (!conversation) { loadConversations(); return; }
    if (event.type === "message.created") conversation.last_message = message;
    renderConversations();
  } else if (event.type === "typing") {
    const userId = event.user?.id ?? event.user;
    if (event.conversation === state.openId && userId !== state.me.id) {
      $("typing").textContent = `${displayName(event.conversation, userId)} is typing…`;
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 3000);
    }
  } else if (event.type === "conversation.read") {
    const conversation = state.conversations.get(event.conversation);
    if (conversation && (event.user?.id ?? event.user) === state.me.id) {
      conversation.unread_count = 0;
      renderConversations();
    }
  } else if (event.type === "notification.created") {
    notificationCreated(event.notification);
  } else if (event.type === "error") {
    $("send-error").textContent = event.detail || event.code;
  }
}

// Close codes after which reconnecting cannot help (docs/API.md, Websocket).
const FINAL_CLOSES = {
  4401: "signed out: sign in again",
  4403: "this page's origin is not allowed",
  4409: "replaced by a newer connection",
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = state.lastEventId ? `?since=${state.lastEventId}` : "";
  // The token travels in the subprotocol header, not the URL (kept out of logs).
  const socket = new WebSocket(`${scheme}://${location.host}/ws/chat/${since}`, ["wemaster.token", state.token]);
  state.socket = socket;
  socket.addEventListener("open", () => {
    $("connection-status").textContent = "live";
    state.reconnectDelay = 500;
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), PING_EVERY_MS);
  });
  socket.addEventListener("message", (frame) => handleEvent(JSON.parse(frame.data)));
  socket.addEventListener("close", (event) => {
    clearInterval(state.pingTimer);
    if (FINAL_CLOSES[event.code]) {
      $("connection-status").textContent = FINAL_CLOSES[event.code];
      return;
    }
    $("connection-status").textContent = "reconnecting…";
    if (state.token) setTimeout(connect, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 10000);
  });
}

async function start() {
  state.me = await api("GET", "me");
  $("whoami").textContent = `${state.me.display_name} (#${state.me.id})`;
  $("logout").hidden = false;
  $("notifications-button").hidden = false;
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  await Promise.all([loadConversations(), loadNotifications()]);
  connect();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const { token } = await api("POST", "auth/token", { email: $("email").value, password: $("password").value });
    state.token = token;
    sessionStorage.setItem("wm.token", token);
    sessionStorage.removeItem("wm.lastEventId");
    state.lastEventId = 0;
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
});

$("logout").addEventListener("click", () => {
  sessionStorage.clear();
  state.token = null;
  if (state.socket) state.socket.close();
  location.reload();
});

$("notifications-button").addEventListener("click", () => {
  const panel = $("notifications-panel");
  panel.hidden = !panel.hidden;
  $("notifications-button").setAttribute("aria-expanded", String(!panel.hidden));
});

$("notifications-read-all").addEventListener("click", () => {
  readAllNotifications().catch((error) => { $("send-error").textContent = error.message; });
});

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("send-error").textContent = "";
  const body = $("body").value;
  if (!body.trim() || !state.openId) return;
  try {
    const message = await api("POST", `conversations/${state.openId}/messages`, {
      body, client_id: crypto.randomUUID(),
    });
    renderMessage(message);
    $("body").value = "";
  } catch (error) {
    $("send-error").textContent = error.message;
  }
});

$("body").addEventListener("input", () => {
  const now = Date.now();
  if (state.socket?.readyState === WebSocket.OPEN && state.openId && now - state.lastTypingSent > 2000) {
    state.lastTypingSent = now;
    state.socket.send(JSON.stringify({ type: "typing", conversation: state.openId }));
  }
});

$("new-conversation").addEventListener("submit", async (event) => {
  event.preventDefault();
  const participant = Number($("participant-id").value);
  if (!participant) return;
  try {
    const conversation = await api("POST", "conversations", { participant_ids: [participant] });
    state.conversations.set(conversation.id, conversation);
    await openConversation(conversation.id);
  } catch (error) {
    $("send-error").textContent = error.message;
  }
});

if (state.token) start().catch(() => { sessionStorage.clear(); state.token = null; });
