// A throwaway PKI for TLS tests, made with the openssl command: a CA, and certificates it
// signs for servers (with a loopback IP in subjectAltName) and for clients.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const OPENSSL = ["/usr/bin/openssl", "/usr/local/bin/openssl"].find((file) => fs.existsSync(file));

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL!, args, { cwd, stdio: "pipe" });
}

export interface Pki {
  directory: string;
  caCert: string;
  issue(name: string, options?: { server?: boolean }): { cert: string; key: string };
}

export function createPki(directory: string): Pki {
  fs.mkdirSync(directory, { recursive: true });
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", "/CN=impeller test CA", "-keyout", "ca.key", "-out", "ca.pem"], directory);
  return {
    directory,
    caCert: path.join(directory, "ca.pem"),
    issue(name, options = {}) {
      openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`,
        "-keyout", `${name}.key`, "-out", `${name}.csr`], directory);
      const extensions = path.join(directory, `${name}.ext`);
      fs.writeFileSync(extensions, options.server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\n" : "extendedKeyUsage=clientAuth\n");
      openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", extensions, "-out", `${name}.pem`], directory);
      return { cert: path.join(directory, `${name}.pem`), key: path.join(directory, `${name}.key`) };
    },
  };
}
