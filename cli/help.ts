// The impeller command's help: every command and its options, and examples. Each command's own
// --help is its block of this text.

import { DATA_DIR_DEFAULT, WINDOW_DEFAULT, WINDOW_MAX } from "../simulator/replay/recordings.js";
import { BEARINGS } from "../simulator/replay/replay.js";

export const HELP = `impeller: firmware runtime and fleet simulator for connected pumps

Usage: impeller <command> [options]

Commands:
  simulate [SCENARIO]   Run a fleet scenario (default: scenarios/default.json) against
                        the embedded MQTT broker and print the decoded telemetry.
      --pumps N           number of pumps (overrides the scenario; below its own, its pump
                          counts scale down with the fleet: scenarios/README.md)
      --days D            simulated days (overrides the scenario)
      --seed S            random seed (overrides the scenario)
      --broker URL        use this MQTT broker (mqtt://host:port) instead of the embedded one;
                          a clustered broker's nodes separated by commas: each pump dials the
                          first and, after losing it, the next (its outbox goes again there)
      --collector URL     the broker (or nodes) the run's subscriber reads from (default --broker)
      --identities DIR    every pump and the collector connect over TLS with their own
                          certificate from DIR (impeller provision), to the broker in DIR
                          (mosquitto -c DIR/mosquitto.conf) unless --broker names another
      --workers N         worker threads for the pumps (default: one per core for 100+ pumps)
      --shard K/N         run only pumps with index % N == K (several processes, one broker)
      --multiplex N       N pumps share one MQTT connection, as behind a gateway (overrides
                          the scenario's devices_per_connection; default 1)
      --tcp               pumps reach the embedded broker over loopback TCP instead of its
                          in-process network (each pump its own MQTT connection either way)
      --quiet             no progress line
      --report PATH       the HTML report (default reports/NAME/report.html, NAME from the
                          scenario's name up to its first colon); always written
      --ci                judge the scenario's expectations (scenarios/README.md), write the
                          JUnit XML and the JSON summary, exit 1 if an expectation fails
      --junit PATH        JUnit XML (default with --ci: reports/NAME/junit.xml)
      --summary PATH      JSON summary (default with --ci: reports/NAME/summary.json)
      --console           serve a live console of the run on http://127.0.0.1:PORT/ (see
                          console below); it keeps serving after the run until interrupted
      --port P            the console's port (default 8080; 0: any free port)
      --pace X            simulated seconds per real second, so a person can watch (default:
                          as fast as it goes); with --console
      --contract PCT      the availability the console holds the fleet to (default 99.5)
  console               Serve a live browser console on http://127.0.0.1:PORT/ for a broker
                        carrying impeller topics: every pump with its state, health, alarm,
                        findings, remaining life and advice; the alarm feed; availability
                        against the contract; a pump's trends, waveform and spectra (run by
                        the release firmware in the browser); commands. Serves until Ctrl-C.
      --broker URL        the broker (mqtt://host:port); every tenant on it unless --tenant
      --identities DIR    connect as the tenant's collector and operator with their
                          certificates from DIR (impeller provision), to the broker in DIR
                          unless --broker names another; needs --tenant
      --tenant T          show and command tenant T's pumps only
      --port P            the console's port (default 8080; 0: any free port)
      --contract PCT      the availability the fleet is held to (default 99.5)
      --image IMAGE --envelope ENVELOPE
                          a campaign the page can start, pause, resume and abort: the image
                          and its signed envelope (impeller sign) offered to every pump of
                          --tenant heard from, as its operator
      --campaign NAME     the campaign's name (default: the envelope's file name)
      --waves W,W,...     cumulative shares of the pumps per wave (default 0.1,0.5,1)
  merge SUMMARY...      Judge a fleet run in shards as one: the shards' summaries (simulate
                        --shard K/N --summary FILE, one per shard) become one summary, JUnit
                        XML, HTML report and verdict, the expectations judged again from the
                        per-pump records as the unsharded run judges them. Refuses summaries
                        of other scenarios, seeds or shard counts, and missing or repeated
                        shards. The report has no per-pump plots (the shards' reports do).
      --report PATH       the HTML report (default reports/NAME/report.html); always written
      --ci                print the verdict, write the JUnit XML and the JSON summary, exit 1
                          if an expectation fails
      --junit PATH        JUnit XML (default with --ci: reports/NAME/junit.xml)
      --summary PATH      JSON summary (default with --ci: reports/NAME/summary.json)
  analyze FILE          Replay a recording (raw float32 little-endian, in g) through the
                        release firmware, window by window, and print its diagnoses.
      --rate HZ           sample rate (required)
      --units U           the recording's units: g (default) or m/s2
      --rpm RPM           shaft speed (measured from the spectrum when absent)
      --rpm-range MIN,MAX where the speed is measured when --rpm is absent (default
                          600,3600: 10–60 Hz; a 5 Hz or a 100 Hz shaft needs its own)
      --bearing NAME      bearing geometry by name: ${Object.keys(BEARINGS).join(", ")}
      --geometry n,d,D,a  or as rolling elements, element and pitch diameter (mm), angle (deg)
      --orders LIST       or by its defect orders (multiples of the shaft's speed), as a data
                          sheet gives them: bpfo=3.585,bpfi=5.415[,ftf=0.398][,bsf=2.357];
                          without any of the three no bearing defect is named
      --window N          samples per window (default 4096)
      --interval S        the windows are snapshots taken S seconds apart (e.g. FEMTO: 10)
      --snapshot N        with --interval: snapshots of N samples, each cut into consecutive
                          windows (a 1.28 s snapshot of 32,768 samples: 8 windows of 4096),
                          each one measurement (the trend takes one value of each)
      --vanes N           impeller vanes, for the vane-pass line
      --iso-group G       ISO 10816-3 machine group, 1 or 2 (default 2)
      --foundation F      rigid (default) or flexible
      --json              one JSON object: {summary, windows}
  validate [DIR]        Replay every real recording in DIR (default ${DATA_DIR_DEFAULT}, beside the
                        checkout) through the release firmware. Each data set is a folder with
                        a manifest.json (DIR itself, or each folder in it: cwru/ and femto/
                        here, any other rig's by any name): labelled records ("records", as
                        CWRU's) give confusion tables (true label × verdict) per sample rate
                        and sensor, with the manifest's rpm and without it (the firmware
                        measures the speed; its error is reported); runs to failure ("runs",
                        as FEMTO's) give each run's first alarm against the failure; then
                        pass/fail for the stated targets.
                        Exit 1 when a recording could not be replayed (the others still run).
      --only NAME         one data set only, by its folder's name (cwru, femto, ...)
      --window N          samples per window of a record (default ${WINDOW_DEFAULT}); a run-to-failure
                          snapshot is one window, or consecutive windows of N when it is
                          longer than the firmware's largest (${WINDOW_MAX}), one measurement
      --verbose           also each record's verdict and windows by diagnosis
      --json              one JSON object: the whole report, records included
  ble scan [--timeout S]  List the pumps in Bluetooth LE range (commissioning, diagnostics).
  ble status ADDRESS    Read a pump's state over Bluetooth LE.
  ble send ADDRESS --cmd NAME [--args JSON] [--id N] [--seq N]
                        Send a pump a command over Bluetooth LE and print its reply.
  ble commission ADDRESS [--tenant T] [--device ID] [--broker URL] [--owner FILE] [--seq N]
                        Commission a pump over Bluetooth LE: its identity, the broker it
                        reports to, its owner's policy (impeller ble --help says more).
  ble serve [--device ID] [--broker URL] [--state DIR] [--adapter NAME] [--duration S]
                        Run a pump on this host's release firmware that the ble commands
                        find and commission (BlueZ on the system bus).
  keygen --out DIR [--alg eddsa|es256] [--force]
                        Make a firmware signing key: DIR/signing-key.pem (PKCS#8, secret)
                        and DIR/signing-key.pub.pem (SPKI, for the devices).
  sign IMAGE --seq N --key KEY.pem --vendor V --class C --out ENVELOPE
                        Sign a firmware image into a SUIT envelope (COSE_Sign1, ES256 or
                        EdDSA by the key). V and C are UUIDs, or names made into UUIDv5:
                        a vendor domain (DNS namespace), a model name (vendor's namespace).
      --device ID         only for this device (UUID, or a name: UUIDv5 in the class's namespace)
      --uri URI           where the device fetches the image (default: the block download)
      --description TEXT  --version TEXT   text carried severable in the envelope
  inspect ENVELOPE [--key PUB.pem]... [--image IMAGE]
                        Print a SUIT envelope in diagnostic notation; with --key verify its
                        digest and signature, with --image the image's digest and size.
                        Exit 0 only when everything asked for verifies.
  provision --tenant T --devices N --out DIR
                        Make a fleet's identities and the broker's configuration: a CA
                        (DIR/ca.pem; ca.key stays private), a certificate per device in
                        DIR/devices/<id>/ (CN = device id, pump-0001…), collector.T and
                        operator.T in DIR/clients/, the broker's certificate, and
                        DIR/mosquitto.conf with an ACL (TLS, client certificates required,
                        each device only its own topics). Run again with another tenant
                        to add it to the same CA and broker (device ids unique across them).
      --waveform W        owner policy: raw waveforms on_request (default) or never
      --detail D          owner policy: full (default) or summary telemetry
                        The owner's token and policy go to DIR/owner/T.json (0600); devices
                        store the policy at their first boot, and only the token changes it.
      --port P            the broker's TLS port (default 8883)
      --host H            the name or IP clients connect to (default 127.0.0.1)
      --bind A            the address the listener binds to (default: all)
      --first K           the first device is index K (pump-000(K+1)); default 0
      --days D            validity of the issued certificates (default 825)
  help                  Show this text.

Examples:
  impeller simulate
  impeller simulate scenarios/default.json --pumps 20 --days 3 --seed 7
  impeller simulate --broker mqtt://127.0.0.1:1883
  impeller simulate --console --pace 21600
  impeller console --identities fleet --tenant demo
  impeller simulate scenarios/outage.json --ci
  impeller analyze recording.f32 --rate 12000 --rpm 1797 --bearing 6205
  impeller validate ../shared/data --only cwru --verbose
  impeller provision --tenant acme --devices 30 --out fleet && mosquitto -c fleet/mosquitto.conf
`;

/** One command's part of the help: its lines from HELP, from its first line to the next command's. */
export function commandUsage(command: string): string {
  const lines = HELP.split("\n");
  const from = lines.findIndex((line) => line.startsWith(`  ${command} `));
  const isCommand = (line: string): boolean => /^  [a-z]/.test(line);
  const block: string[] = [];
  for (let i = from; i < lines.length && lines[i] !== ""; i++) {
    if (i > from && isCommand(lines[i]) && !lines[i].startsWith(`  ${command} `)) break;
    block.push(lines[i]);
  }
  return `Usage: impeller ${command} [options]\n\n${block.join("\n")}\n`;
}
