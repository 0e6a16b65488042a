// A private D-Bus daemon for tests and benchmarks: its own config, a unix socket in a temp
// directory, and a policy that lets any connection own any name (the fake BlueZ owns
// org.bluez on it). Nothing here touches the machine's system bus.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const DBUS_DAEMON = "/usr/bin/dbus-daemon";
const START_TIMEOUT_MS = 5000;

export function dbusDaemonAvailable(): boolean {
  return fs.existsSync(DBUS_DAEMON);
}

export interface PrivateBus {
  /** The bus address, e.g. unix:path=/tmp/impeller-dbus-x/bus,guid=... */
  address: string;
  stop(): Promise<void>;
}

function config(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/** Starts dbus-daemon in the foreground and resolves once it has printed its address. */
export async function startPrivateBus(): Promise<PrivateBus> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "impeller-dbus-"));
  const configFile = path.join(directory, "bus.conf");
  fs.writeFileSync(configFile, config(path.join(directory, "bus")));
  const child: ChildProcess = spawn(DBUS_DAEMON, [`--config-file=${configFile}`, "--nofork", "--nopidfile", "--print-address=1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (data: Buffer) => { stderr += data.toString(); });
  const address = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`dbus-daemon printed no address within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
    child.stdout!.on("data", (data: Buffer) => {
      stdout += data.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, newline).trim());
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with ${code} before it was ready: ${stderr}`));
    });
  });
  return {
    address,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
