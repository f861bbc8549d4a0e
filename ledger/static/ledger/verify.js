// Checks an entry's inclusion proof in the browser, with nothing but WebCrypto's SHA-256:
// the leaf hash from the entry's exact bytes, then the RFC 9162 §2.1.3.2 algorithm up to the
// signed checkpoint's root. The server is not trusted for any step but handing over the data.
"use strict";

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { buf.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

async function verifyInclusion(leaf, index, size, proof, root) {
  // SPEC: RFC 9162 §2.1.3.2, step by step.
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) { fn >>>= 1; sn >>>= 1; }
      }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn >>>= 1; sn >>>= 1;
  }
  return sn === 0 && bytesToHex(r) === bytesToHex(root);
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("verify-proof");
  if (!button) return;
  const out = document.getElementById("verify-result");
  button.addEventListener("click", async () => {
    const data = JSON.parse(document.getElementById("entry-proof").textContent);
    const bytes = Uint8Array.from(atob(data.entry_b64), (c) => c.charCodeAt(0));
    const leaf = await sha256(Uint8Array.of(0), bytes);
    const steps = [`Leaf hash computed here: ${bytesToHex(leaf)}`];
    if (bytesToHex(leaf) !== data.leaf_hex) {
      steps.push("It does NOT match the stored leaf hash.");
      out.textContent = steps.join("\n");
      out.className = "bad";
      return;
    }
    const ok = await verifyInclusion(
      leaf, data.index, data.tree_size, data.hashes.map(hexToBytes), hexToBytes(data.root));
    steps.push(ok
      ? `Proof checked: entry ${data.index} is in the tree of ${data.tree_size} entries whose signed root is ${data.root}.`
      : "The proof does NOT lead to the checkpoint's root.");
    out.textContent = steps.join("\n");
    out.className = ok ? "ok" : "bad";
    out.dataset.verified = ok ? "yes" : "no";
  });
});
