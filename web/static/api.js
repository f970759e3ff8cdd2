// The Web API client: POST /api/<method> on this page's origin, as a
// form, with the token as a bearer header, exactly as Slack's SDKs do.

// ApiError is an ok:false answer, or "network_error" when no answer came.
export class ApiError extends Error {
  constructor(method, code) {
    super(`${method}: ${code}`);
    this.method = method;
    this.code = code;
  }
}

export class Api {
  constructor(token = '') {
    this.token = token;
  }

  // call answers the method's body (ok:true); anything else throws an
  // ApiError.
  async call(method, args = {}, timeoutMs = 15000) {
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let res;
    try {
      res = await fetch(`/api/${method}`, {
        method: 'POST', headers, body: new URLSearchParams(args),
        cache: 'no-store', signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new ApiError(method, 'network_error');
    }
    let body;
    try {
      body = await res.json();
    } catch {
      throw new ApiError(method, `http_${res.status}`);
    }
    if (!body.ok) throw new ApiError(method, body.error || 'unknown_error');
    return body;
  }

  // all follows next_cursor and answers every page's items under key.
  async all(method, args, key) {
    const out = [];
    let cursor = '';
    do {
      const body = await this.call(method, { ...args, cursor });
      out.push(...(body[key] || []));
      cursor = body.response_metadata?.next_cursor || '';
    } while (cursor);
    return out;
  }
}
