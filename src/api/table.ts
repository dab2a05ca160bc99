// Helpers for the Table columns `kubectl get` shows. Values are computed server-side, like
// upstream's printers, so the client prints them as they are.
import type { TableColumn } from "./resource";

export const nameColumn: TableColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  priority: 0,
};

export const ageColumn: TableColumn = {
  name: "Age",
  type: "string",
  description: "Time since the object was created.",
  priority: 0,
};

export const column = (name: string, description: string, priority: 0 | 1 = 0, type: TableColumn["type"] = "string"): TableColumn => ({
  name,
  type,
  description,
  priority,
});

/** Kubernetes' duration.HumanDuration: "45s", "3m20s", "5h", "12d", "2y30d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The Age column's value for an object created at `created` (RFC 3339). */
export const age = (created: string | undefined, now: Date) =>
  created ? humanDuration(now.getTime() - Date.parse(created)) : "<unknown>";
