// webex-gateway.js: call Webex through the Webex Gateway from a browser. No dependencies, no build step.
//
//   import { createWebexGateway } from '/webex-gateway.js';
//   const webex = createWebexGateway();
//   const me = await webex.user();                 // null when nobody is signed in
//   if (!me) webex.login();                         // to the consent page and back here
//   for await (const room of webex.paginate('/v1/rooms?max=50')) console.log(room.title);
//   await webex.postJson('/v1/messages', { roomId, text: 'Hello' });
//   await webex.upload(roomId, file, { text: 'A file', onProgress: ({ loaded, total }) => console.log(loaded / total) });
//   img.src = webex.contentUrl(message.files[0]);  // a Webex contents URL -> the gateway's /webex/v1/contents/{id}
//   const live = webex.events({ onEvent: e => console.log(e.type, e.data), onSessionEnded: () => webex.login() });
//   for await (const event of webex.events()) console.log(event.type);   // the same, as an async iterator
//
// The browser never sees a Webex token: the gateway's session cookie goes with every call (credentials: 'include'),
// and every call to /webex/* carries the gateway's CSRF header (X-CSRF: 1).

/** An error answer from the gateway or from Webex: `status`, `code` (gateway `error`), `body` (parsed JSON when any). */
export class WebexGatewayError extends Error {
  constructor(message, { status = 0, code = undefined, body = undefined, trackingId = undefined, loginUrl = undefined } = {}) {
    super(message);
    this.name = 'WebexGatewayError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.trackingId = trackingId;
    this.loginUrl = loginUrl;
  }
}

// The resources and events of Webex's webhooks. An EventSource has no listener for every named event, so events()
// listens for each `resource.event` of these (and for the `types` it is given on top).
const webexResources = ['attachmentActions', 'dataSources', 'memberships', 'messages', 'rooms', 'meetings', 'recordings',
  'convergedRecordings', 'meetingParticipants', 'meetingTranscripts', 'telephony_calls', 'telephony_conference',
  'telephony_mwi', 'uc_counters', 'serviceApp', 'adminBatchJobs'];
const webexEvents = ['created', 'updated', 'deleted', 'started', 'ended', 'joined', 'left', 'migrated', 'authorized',
  'deauthorized', 'statusChanged'];

/** The `rel="next"` target of a response's Link header (already pointing at the gateway's /webex/...), or null. */
export function nextLink(response) {
  const header = response.headers.get('Link');
  if (!header) return null;
  for (const [, target, params] of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = params.match(/;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i);
    if (rel && (rel[1] ?? rel[2]).toLowerCase().split(/\s+/).includes('next')) return target;
  }
  return null;
}

/**
 * @param {{ baseUrl?: string, onLoginRequired?: (loginUrl: string) => void,
 *           onRateLimited?: (info: { status: number, retryAfter: number | null, source?: string, url: string }) => void,
 *           maxRetryWait?: number }} [options]
 *   baseUrl: where the gateway is ('' when it serves this page too).
 *   onLoginRequired: called with the gateway's loginUrl when a call needs a sign-in; by default the page goes there.
 *   onRateLimited: called when a GET or HEAD is still answered 429 after two retries (or Retry-After is too long to wait).
 *   maxRetryWait: the longest Retry-After (seconds) worth waiting for in the page; longer ones give up at once (60).
 */
export function createWebexGateway({ baseUrl = '', onLoginRequired, onRateLimited, maxRetryWait = 60 } = {}) {
  const base = String(baseUrl).replace(/\/+$/, '');
  const isAbsolute = url => /^[a-z][a-z0-9+.-]*:/i.test(url);
  const here = () => (globalThis.location ? globalThis.location.href : undefined);
  const gatewayOrigin = () => new URL(base || '/', here()).origin;

  // A URL taken from an answer (a Link target, a loginUrl), or an absolute one given to fetch(), is used only when it
  // stays on the gateway: a path ('/auth/...', but not '//host' or '/\host', which browsers read as another host) or
  // an absolute URL of the gateway's own origin. Anything else (another site, javascript:, data:) is refused: never
  // fetched (with the session cookie and the CSRF header) nor navigated to.
  const onGateway = (url, what, details = {}) => {
    const text = typeof url === 'string' ? url : '';
    const shape = isAbsolute(text) || (text.startsWith('/') && !/^\/[\/\\]/.test(text));
    let origin = null;
    try { origin = new URL(isAbsolute(text) ? text : base + text, here()).origin; } catch { /* not a URL */ }
    if (shape && origin === gatewayOrigin()) return text;
    throw new WebexGatewayError(`Refused ${what} ${JSON.stringify(String(url))}: it leads off the gateway (${gatewayOrigin()}).`,
      { ...details, code: 'unsafe_url' });
  };

  // '/v1/rooms' -> '{base}/webex/v1/rooms'; '/webex/v1/...' (a rewritten Link) and absolute URLs of the gateway are kept.
  const webexUrl = path => {
    if (isAbsolute(path)) return onGateway(path, 'the URL');
    const local = path.startsWith('/') ? path : `/${path}`;
    return base + (local === '/webex' || local.startsWith('/webex/') ? local : `/webex${local}`);
  };
  const gatewayUrl = path => (isAbsolute(path) ? path : base + path);

  const loginRequired = (loginUrl, body) => {
    const target = gatewayUrl(onGateway(loginUrl || '/auth/login', 'the sign-in URL', { status: 401, body }));
    if (onLoginRequired) onLoginRequired(target);
    else globalThis.location.assign(target);
    return new WebexGatewayError('Sign in with Webex first.', { status: 401, code: 'login_required', loginUrl: target });
  };

  // Retry-After in seconds (a number or an HTTP date), null when absent or unreadable.
  const retryAfterOf = response => {
    const value = response.headers.get('Retry-After');
    if (!value) return null;
    if (/^\s*\d+\s*$/.test(value)) return Number(value);
    const date = Date.parse(value);
    return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
  };
  // A little past Retry-After, so the retry does not arrive while the cool-down is still in force.
  const waitFor = seconds => new Promise(resolve => setTimeout(resolve, seconds * 1000 + 250));

  const readJson = async response => {
    const text = await response.text();
    if (!text) return undefined;
    try { return JSON.parse(text); } catch { return text; }
  };

  const failure = async response => {
    const body = await readJson(response);
    const message = (body && typeof body === 'object' && (body.message || body.error))
      || (typeof body === 'string' && body.length < 200 ? body : '')
      || `${response.status} ${response.statusText}`.trim();
    return new WebexGatewayError(message, {
      status: response.status,
      code: body && typeof body === 'object' ? body.error : undefined,
      body,
      trackingId: response.headers.get('TrackingID') || (body && body.trackingId) || undefined,
    });
  };

  /**
   * fetch() for /webex/*: `path` is a Webex path ('/v1/rooms') or a gateway one ('/webex/v1/rooms?cursor=...').
   * `init.json` sends a JSON body. Resolves to the Response whatever its status, except a 401 login_required:
   * then onLoginRequired(loginUrl) runs (or the page goes to loginUrl) and the promise rejects with code 'login_required'.
   * A loginUrl or an absolute `path` off the gateway rejects with code 'unsafe_url' instead, nothing called or visited.
   */
  async function webexFetch(path, init = {}) {
    const url = webexUrl(path);
    const method = (init.method || (init.json !== undefined ? 'POST' : 'GET')).toUpperCase();
    for (let retries = 0; ; retries++) {
      const response = await send(url, init);
      if (response.status !== 429 || (method !== 'GET' && method !== 'HEAD')) return response;
      const wait = retryAfterOf(response) ?? 1;
      if (retries < 2 && wait <= maxRetryWait) {
        await waitFor(wait);
        continue;
      }
      if (onRateLimited) {
        const body = method === 'HEAD' ? undefined : await readJson(response.clone());
        onRateLimited({ status: 429, retryAfter: retryAfterOf(response), source: body && body.source, url });
      }
      return response;
    }
  }

  async function send(url, init) {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set('X-CSRF', '1');
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    if (json !== undefined) {
      rest.body = JSON.stringify(json);
      if (!rest.method) rest.method = 'POST';
      headers.set('Content-Type', 'application/json');
    }
    const response = await globalThis.fetch(url, { ...rest, headers, credentials: 'include' });
    await checkLogin(response);
    return response;
  }

  const checkLogin = async response => {
    if (response.status === 401) {
      const body = await readJson(response.clone());
      if (body && body.error === 'login_required') throw loginRequired(body.loginUrl, body);
    }
  };

  /**
   * The gateway path of a file: a Webex contents URL ('https://webexapis.com/v1/contents/{id}', or the contents URL of
   * any Webex API address) becomes '{base}/webex/v1/contents/{id}', which <img src> and <a href download> can use (the
   * gateway lets its own pages read contents without X-CSRF). A path or URL already on the gateway is returned as it
   * is; anything else rejects with code 'unsafe_url'.
   */
  function contentUrl(url) {
    const text = typeof url === 'string' ? url.trim() : '';
    const webex = /^https?:\/\/[^/?#\\]+(?:\/[^?#]*)?\/v1\/contents\/([^/?#]+)(\?[^#]*)?$/i.exec(text);
    if (webex) return `${base}/webex/v1/contents/${webex[1]}${webex[2] || ''}`;
    return gatewayUrl(onGateway(text, 'the file URL'));
  }

  /**
   * A file's answer (see contentUrl for `url`): the Response of a 2xx. A 423 Locked (Webex still scanning the file) is
   * retried once after its Retry-After; any other answer rejects with a WebexGatewayError (423, 428, 404, ...).
   */
  async function download(url, init = {}) {
    const target = contentUrl(url);
    const headers = new Headers(init.headers);
    if (!headers.has('Accept')) headers.set('Accept', '*/*');
    for (let attempt = 0; ; attempt++) {
      const response = await webexFetch(target, { ...init, headers });
      if (response.ok) return response;
      const wait = retryAfterOf(response);
      if (response.status === 423 && attempt === 0 && wait !== null && wait <= maxRetryWait) {
        await response.body?.cancel();
        await waitFor(wait);
        continue;
      }
      throw await failure(response);
    }
  }

  /**
   * Posts a message with one file (multipart) to the room: resolves to the created message, rejects with a
   * WebexGatewayError on any other answer (413 payload_too_large above the gateway's upload limit, 401 login_required,
   * ...). onProgress({ loaded, total }) follows the upload (XMLHttpRequest: fetch() reports no upload progress).
   */
  function upload(roomId, file, { text, markdown, onProgress, signal } = {}) {
    const form = new FormData();
    form.append('roomId', roomId);
    if (text) form.append('text', text);
    if (markdown) form.append('markdown', markdown);
    form.append('files', file, file.name || 'file');
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', webexUrl('/v1/messages'));
      xhr.withCredentials = true;
      xhr.setRequestHeader('X-CSRF', '1');
      xhr.setRequestHeader('Accept', 'application/json');
      if (onProgress) {
        xhr.upload.onprogress = event => onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
      }
      xhr.onload = async () => {
        try {
          const headers = new Headers();
          for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
            const colon = line.indexOf(':');
            if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
          }
          const response = new Response(xhr.responseText || null, { status: xhr.status, statusText: xhr.statusText, headers });
          await checkLogin(response);
          if (!response.ok) throw await failure(response);
          resolve(await readJson(response));
        } catch (error) {
          reject(error);
        }
      };
      xhr.onerror = () => reject(new WebexGatewayError('The gateway could not be reached.', { code: 'network_error' }));
      xhr.onabort = () => reject(new WebexGatewayError('The upload was cancelled.', { code: 'aborted' }));
      if (signal) signal.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  }

  /**
   * The signed-in person's live events: `GET /events` (Server-Sent Events) through an EventSource, which the browser
   * reconnects by itself after a dropped connection, sending Last-Event-ID so nothing is missed. Each event is
   * `{ id, type, resource, event, actorId, created, data }` (`type` is `resource.event`, such as 'messages.created';
   * `data` is the webhook's data: ids, not the message's text).
   * - `session_ended` (the person signed out elsewhere, or the grant is gone): the stream stops, never reconnects, and
   *   onSessionEnded() runs.
   * - An answer the browser does not retry (an EventSource gives up on any status but 200) is read once more with
   *   fetch() to learn why: a 4xx (401 login_required, 403, 429 too_many_streams, ...) stops the stream and reaches
   *   onError(WebexGatewayError) (a 401's `loginUrl` is set, but the page is not sent there); a 5xx opens a new stream
   *   after a growing pause (1 s to 30 s), which starts from now; an answer that cannot be read three times in a row
   *   (another origin without CORS) stops it with code 'network_error'.
   * The handle: `close()`; `closed`, a promise of why it ended ('session_ended', 'closed' or 'error', the error in
   * `error`); `state` ('connecting', 'open', 'closed'). It is also an async iterator of the events, ending after
   * session_ended or close() and throwing the error that stopped the stream.
   */
  function events({ onEvent, onSessionEnded, onError, onOpen, types = [] } = {}) {
    const url = gatewayUrl('/events');
    const queue = [];
    const waiting = [];
    let buffering = !onEvent;
    let source = null;
    let probe = null;
    let timer = null;
    let failures = 0;
    let lastEventId = null;
    let unanswered = 0;
    let state = 'connecting';
    let ended;
    const closed = new Promise(resolve => { ended = resolve; });

    const handle = {
      close: () => { finish('closed'); },
      closed,
      reason: undefined,
      error: undefined,
      get state() { return state; },
      [Symbol.asyncIterator]() {
        buffering = true;
        return {
          next() {
            if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
            if (state === 'closed') return handle.error ? Promise.reject(handle.error) : Promise.resolve({ value: undefined, done: true });
            return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
          },
          return() {
            finish('closed');
            return Promise.resolve({ value: undefined, done: true });
          },
          [Symbol.asyncIterator]() { return this; },
        };
      },
    };

    function finish(reason, error) {
      if (state === 'closed') return false;
      state = 'closed';
      handle.reason = reason;
      handle.error = error;
      if (source) source.close();
      source = null;
      if (probe) probe.abort();
      clearTimeout(timer);
      for (const next of waiting.splice(0)) {
        if (error) next.reject(error);
        else next.resolve({ value: undefined, done: true });
      }
      ended(reason);
      return true;
    }

    function deliver(message) {
      let body;
      try { body = JSON.parse(message.data); } catch { return; }
      const event = { id: message.lastEventId, type: message.type, ...body };
      if (message.lastEventId) lastEventId = message.lastEventId;
      if (buffering) {
        const next = waiting.shift();
        if (next) next.resolve({ value: event, done: false });
        else queue.push(event);
      }
      if (onEvent) onEvent(event);
    }

    function open() {
      if (state === 'closed') return;
      // A stream opened anew (after a refused answer) resumes after the last event this page got: a new EventSource
      // cannot send Last-Event-ID, so the position goes in the query.
      const from = lastEventId ? `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}` : url;
      const current = new EventSource(from, { withCredentials: true });
      source = current;
      const named = new Set(webexResources.flatMap(resource => webexEvents.map(name => `${resource}.${name}`)));
      for (const type of types) named.add(type);
      for (const type of named) current.addEventListener(type, deliver);
      current.addEventListener('message', deliver);
      current.addEventListener('session_ended', () => {
        if (finish('session_ended') && onSessionEnded) onSessionEnded();
      });
      current.onopen = () => {
        failures = 0;
        unanswered = 0;
        state = 'open';
        if (onOpen) onOpen();
      };
      current.onerror = () => {
        if (source !== current) return;
        state = 'connecting';
        if (current.readyState === EventSource.CLOSED) {
          source = null;
          diagnose();
        }
      };
    }

    async function diagnose() {
      probe = new AbortController();
      let response = null;
      try {
        response = await globalThis.fetch(url, { credentials: 'include', cache: 'no-store', headers: { Accept: 'text/event-stream' }, signal: probe.signal });
      } catch {
        // No answer (or close() meanwhile): tried again below.
      }
      if (state === 'closed') return;
      // The browser retries a connection that fails by itself, so a stream it gave up on was answered: an answer this
      // page cannot read (another origin without CORS) is not worth asking for again and again.
      unanswered = response ? 0 : unanswered + 1;
      if (unanswered >= 3) {
        const error = new WebexGatewayError(`The answer of ${url} cannot be read (another origin without CORS?).`, { code: 'network_error' });
        if (finish('error', error) && onError) onError(error);
        return;
      }
      const type = response ? (response.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase() : '';
      if (response && response.status < 500 && !(response.status === 200 && type === 'text/event-stream')) {
        const error = response.ok
          ? new WebexGatewayError(`${url} answered ${response.status} ${type || 'without a type'}, not an event stream.`, { status: response.status, code: 'not_an_event_stream' })
          : await failure(response);
        if (response.status === 401 && error.code === 'login_required') {
          try { error.loginUrl = gatewayUrl(onGateway(error.body.loginUrl || '/auth/login', 'the sign-in URL')); } catch { /* left unset */ }
        }
        error.retryAfter = retryAfterOf(response);
        if (finish('error', error) && onError) onError(error);
        return;
      }
      probe.abort(); // a stream that works again is opened by the EventSource below, not by this request
      failures++;
      timer = setTimeout(open, Math.min(30, 2 ** (failures - 1)) * 1000);
    }

    open();
    return handle;
  }

  /** The JSON of a successful call; any other answer rejects with a WebexGatewayError. */
  async function getJson(path, init = {}) {
    const response = await webexFetch(path, init);
    if (!response.ok) throw await failure(response);
    return readJson(response);
  }

  /**
   * One page: `{ items, next }`, where `next` is the path of the following page (give it to page() again) or null.
   * A next-page link off the gateway rejects with code 'unsafe_url'.
   */
  async function page(path, init = {}) {
    const response = await webexFetch(path, init);
    if (!response.ok) throw await failure(response);
    const body = await readJson(response);
    const next = nextLink(response);
    return { items: (body && body.items) || [], next: next && onGateway(next, 'the next-page link') };
  }

  return {
    fetch: webexFetch,
    getJson,
    postJson: (path, body, init = {}) => getJson(path, { ...init, method: 'POST', json: body }),
    page,
    contentUrl,
    download,
    upload,
    events,

    /** Every item of a Webex list, page after page, following Link rel="next". */
    async *paginate(path, init = {}) {
      for (let next = path; next;) {
        const current = await page(next, init);
        yield* current.items;
        next = current.next;
      }
    },

    /** The signed-in user ({ id, displayName, emails, scopes, accessTokenExpiresAt }), or null when there is none. */
    async user() {
      const response = await globalThis.fetch(gatewayUrl('/auth/user'), { credentials: 'include', headers: { Accept: 'application/json' } });
      if (response.status === 401) return null;
      if (!response.ok) throw await failure(response);
      return response.json();
    },

    /** Sends the browser to Webex's consent page; it comes back to `returnUrl` (a path on the gateway; default: this page). */
    login(returnUrl = globalThis.location ? globalThis.location.pathname + globalThis.location.search : '/') {
      globalThis.location.assign(gatewayUrl(`/auth/login?returnUrl=${encodeURIComponent(returnUrl)}`));
    },

    /** Ends the session everywhere and deletes the user's grant at the gateway. */
    async logout() {
      const response = await globalThis.fetch(gatewayUrl('/auth/logout'), {
        method: 'POST', credentials: 'include', headers: { 'X-CSRF': '1' },
      });
      if (!response.ok) throw await failure(response);
    },
  };
}
