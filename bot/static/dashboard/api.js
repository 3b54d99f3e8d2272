// Reading the report API. A 401 means the session ended: back to the sign-in page.

export class ApiError extends Error {}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function getJSON(path, params = {}) {
  const response = await fetch(path + query(params), {
    credentials: "same-origin", headers: { Accept: "application/json" },
  });
  return answer(response);
}

/** A state-changing call: JSON body, the session's CSRF token in a header. */
export async function postJSON(path, body, csrfToken) {
  const response = await fetch(path, {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
  });
  return answer(response);
}

async function answer(response) {
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError("Your session ended; please sign in again.");
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    throw new ApiError((body && body.message) || `The server answered ${response.status}.`);
  }
  return body;
}
