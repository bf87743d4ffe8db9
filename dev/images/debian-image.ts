// Starting an image from a cached Debian root filesystem, and moving a system user to fixed ids.
import { readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../exec.js";
import { copyTree } from "./fs.js";
import { ensureRootfs, type RootfsSpec } from "./rootfs.js";
import { trimRootfs } from "./trim.js";

/** Replaces the empty rootfs directory by a trimmed copy of the Debian rootfs of the spec. */
export async function fromDebianRootfs(spec: RootfsSpec, rootfs: string): Promise<void> {
  const source = await ensureRootfs(spec);
  await rmdir(rootfs);
  await copyTree(source, rootfs);
  await trimRootfs(rootfs);
}

/**
 * Gives a user and its group of the same name the ids uid/gid (both `id`), in /etc/passwd,
 * /etc/group and on every file they own.
 */
export async function renumberUser(rootfs: string, name: string, id: number): Promise<void> {
  const passwdPath = join(rootfs, "etc/passwd");
  const groupPath = join(rootfs, "etc/group");
  const passwd = (await readFile(passwdPath, "utf8")).split("\n");
  const group = (await readFile(groupPath, "utf8")).split("\n");
  const userLine = passwd.findIndex((line) => line.startsWith(`${name}:`));
  const groupLine = group.findIndex((line) => line.startsWith(`${name}:`));
  if (userLine < 0 || groupLine < 0) throw new Error(`no user or group ${name} in ${rootfs}`);
  const takenUid = passwd.find((line, i) => i !== userLine && line.split(":")[2] === String(id));
  const takenGid = group.find((line, i) => i !== groupLine && line.split(":")[2] === String(id));
  if (takenUid || takenGid) throw new Error(`id ${id} is taken in ${rootfs}: ${takenUid ?? takenGid}`);

  const userFields = passwd[userLine]!.split(":");
  const groupFields = group[groupLine]!.split(":");
  const [oldUid, oldGid] = [userFields[2]!, groupFields[2]!];
  userFields[2] = String(id);
  userFields[3] = String(id);
  groupFields[2] = String(id);
  passwd[userLine] = userFields.join(":");
  group[groupLine] = groupFields.join(":");
  await writeFile(passwdPath, passwd.join("\n"));
  await writeFile(groupPath, group.join("\n"));
  await run("find", [rootfs, "-xdev", "-uid", oldUid, "-exec", "chown", "-h", String(id), "{}", "+"]);
  await run("find", [rootfs, "-xdev", "-gid", oldGid, "-exec", "chgrp", "-h", String(id), "{}", "+"]);
}
