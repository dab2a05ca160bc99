// The authenticated user of the request being served, for the admission steps that judge a
// write by who makes it (RBAC's escalation check). Unset for the server's own writes.
import { AsyncLocalStorage } from "node:async_hooks";
import type { User } from "./index";

const storage = new AsyncLocalStorage<User>();

export const runAsUser = <T>(user: User, fn: () => T): T => storage.run(user, fn);

export const requestUser = (): User | undefined => storage.getStore();
