/**
 * Coalesces a burst of requests for the same idempotent call into at most one in flight plus one trailing call:
 * during a catch-up thousands of messages can arrive for the open conversation, and each used to send its own
 * "mark read" to the core (one IPC round trip and one database write per message). Pure (no React, no DOM).
 */
export interface Coalesced {
  /** Asks for a call: runs now if none is in flight, else once after the one in flight (however many asked). */
  request(): void;
}

export function coalesce(run: () => Promise<unknown>): Coalesced {
  let inFlight = false;
  let again = false;
  const start = (): void => {
    inFlight = true;
    again = false;
    void run()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
        if (again) start();
      });
  };
  return {
    request() {
      if (inFlight) again = true;
      else start();
    },
  };
}
