import { defineConfig } from "vitest/config";

// One project per room of the house, so `npx vitest run --project host` runs the host's tests
// alone; test/support holds what they share, test/fixtures and test/vectors their data.
const ROOMS = ["protocol", "firmware", "host", "operator", "simulator", "cli"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: ROOMS.map((room) => ({ extends: true, test: { name: room, include: [`test/${room}/**/*.test.ts`] } })),
  },
});
