import { storeContract } from "../contract.ts";
import { MemoryStore } from "./memory-store.ts";

storeContract("memory", () => ({ open: async () => new MemoryStore(), persistent: false }));
