// Requests sent through a gateway without pause by a few clients until stopped, counting those
// that failed (an error status or no answer): the end-to-end tests' "no request failed".

export interface Traffic {
  readonly counts: { ok: number; failed: string[] };
  /** Stops the clients and waits for their last request; safe to call twice. */
  stop(): Promise<void>;
}

export function steadyTraffic(
  port: number,
  options: { clients?: number; pauseMs?: number; failFrom?: number } = {},
): Traffic {
  const { clients = 2, pauseMs = 0, failFrom = 500 } = options;
  const counts = { ok: 0, failed: [] as string[] };
  let sending = true;
  const client = async () => {
    while (sending) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        await response.arrayBuffer();
        if (response.status >= failFrom) counts.failed.push(`status ${response.status}`);
        else counts.ok++;
      } catch (error) {
        counts.failed.push((error as Error).message);
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const running = Array.from({ length: clients }, client);
  return {
    counts,
    async stop() {
      sending = false;
      await Promise.all(running);
    },
  };
}
