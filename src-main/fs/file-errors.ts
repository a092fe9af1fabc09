/**
 * A file-system error on a path someone named, said in words ("No such file: /x/y.dcm"), never as a bare
 * errno code. Used wherever a person's path is opened: import, probe, the CLI's inputs.
 */
export function fileErrorText(e: unknown, target: string): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return `No such file: ${target}`;
    case 'EACCES':
    case 'EPERM':
      return `No permission to read ${target}`;
    case 'EISDIR':
      return `${target} is a folder, not a file`;
    case 'ENOTDIR':
      return `No such file: ${target} (a part of the path is a file, not a folder)`;
    case 'ELOOP':
      return `${target} is a loop of symbolic links`;
    case 'ENAMETOOLONG':
      return `The path is too long: ${target}`;
    default:
      return `Cannot read ${target}: ${code ?? (e instanceof Error ? e.message : String(e))}`;
  }
}
