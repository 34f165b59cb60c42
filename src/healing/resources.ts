// The resource checks made before a restart: would a restart help, and did the replica outgrow its limit.

const MB = 1024 * 1024;

/**
 * Why a restart would not help: the host has less free memory than the service needs, so the new
 * replica would only be starved (or killed) in turn. Undefined when it may go ahead.
 */
export function memoryHold(
  service: string,
  memoryMb: number | undefined,
  freeBytes: number,
): string | undefined {
  if (memoryMb === undefined || freeBytes >= memoryMb * MB) return undefined;
  return `only ${Math.floor(freeBytes / MB)} MB of memory free and ${service} needs ${memoryMb} MB: a restart would not help until memory is freed`;
}

/** Said in the restart event when the replica's last sampled RSS exceeded the service's limit. */
export function memoryNote(rssBytes: number | undefined, memoryMb: number | undefined): string | undefined {
  if (memoryMb === undefined || rssBytes === undefined || rssBytes <= memoryMb * MB) return undefined;
  return `replica exceeded its memory limit (${Math.round(rssBytes / MB)} MB > ${memoryMb} MB); a restart frees it`;
}
