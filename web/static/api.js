// The HTTP contract of openapi.yaml (docs/contract.md), and nothing else: one method per route the page uses.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(baseUrl, getToken) {
    this.baseUrl = baseUrl || "";
    this.getToken = getToken;
  }

  async request(method, path, body, extraHeaders = {}) {
    const headers = { Accept: "application/json", ...extraHeaders };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "network_error", "The server did not answer; check your connection.");
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) {
      throw new ApiError(response.status, data && data.code, (data && data.message) || response.statusText);
    }
    return data;
  }

  user(userId) { return this.request("GET", `/users/${encodeURIComponent(userId)}`); }
  listSpaces(params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
    return this.request("GET", `/spaces?${query}`);
  }
  createSpace(body) { return this.request("POST", "/spaces", body); }
  space(id) { return this.request("GET", `/spaces/${id}`); }
  participants(id) { return this.request("GET", `/spaces/${id}/participants`); }
  // Who listens (docs/people.md): most recent first, `cursor` from the previous page.
  listeners(id, cursor) {
    const query = new URLSearchParams({ limit: "50", ...(cursor ? { cursor } : {}) });
    return this.request("GET", `/spaces/${id}/listeners?${query}`);
  }
  me() { return this.request("GET", "/me"); }
  editMe(body) { return this.request("PATCH", "/me", body); }
  // A purchase is retried with the same key (a replay answers the first response); a new
  // purchase attempt gets a new one.
  buyTicket(id, key, body = {}) {
    return this.request("POST", `/spaces/${id}/tickets`, body, { "Idempotency-Key": key });
  }
  myTickets() { return this.request("GET", "/me/tickets?limit=100"); }
  // Credentials for the Space's IVS Chat room (one per chat connection: a token is used once).
  chatToken(id) { return this.request("POST", `/spaces/${id}/events/token`); }
  events(id, after, wait) {
    return this.request("GET", `/spaces/${id}/events?after=${encodeURIComponent(after)}&wait=${wait}`);
  }
  start(id) { return this.request("POST", `/spaces/${id}/start`); }
  end(id) { return this.request("POST", `/spaces/${id}/end`); }
  cancel(id) { return this.request("POST", `/spaces/${id}/cancel`); }
  join(id, body) { return this.request("POST", `/spaces/${id}/join`, body); }
  leave(id) { return this.request("POST", `/spaces/${id}/leave`); }
  raiseHand(id) { return this.request("POST", `/spaces/${id}/speaker-requests`); }
  lowerHand(id) { return this.request("DELETE", `/spaces/${id}/speaker-requests`); }
  addSpeaker(id, userId) { return this.request("POST", `/spaces/${id}/speakers`, { user_id: userId }); }
  acceptInvitation(id, body) { return this.request("POST", `/spaces/${id}/invitations/accept`, body); }
  react(id, emoji) { return this.request("POST", `/spaces/${id}/reactions`, { emoji }); }
  // Like a purchase, a subscription attempt keeps its Idempotency-Key across retries.
  subscribe(userId, key, body = {}) {
    return this.request("POST", `/users/${encodeURIComponent(userId)}/subscription`, body, { "Idempotency-Key": key });
  }
  removeSpeaker(id, userId) { return this.request("DELETE", `/spaces/${id}/speakers/${encodeURIComponent(userId)}`); }
  mute(id, userId) { return this.request("POST", `/spaces/${id}/participants/${encodeURIComponent(userId)}/mute`); }
  remove(id, userId) { return this.request("POST", `/spaces/${id}/participants/${encodeURIComponent(userId)}/remove`); }
  analytics(id) { return this.request("GET", `/spaces/${id}/analytics`); }
  pin(id, url, text) { return this.request("PUT", `/spaces/${id}/pinned`, { url, text }); }
  unpin(id) { return this.request("DELETE", `/spaces/${id}/pinned`); }
  setReminder(id) { return this.request("POST", `/spaces/${id}/reminders`); }
  clearReminder(id) { return this.request("DELETE", `/spaces/${id}/reminders`); }
}
