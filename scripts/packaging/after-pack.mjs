// electron-builder afterPack hook (electron-builder.yml: afterPack). Runs after the app folder is laid out
// and before anything is signed: flips the Electron fuses and checks them.
import { applyWorkstationFuses, packagedExecutable } from './fuses.mjs';

/** electron-builder's Arch enum: 3 is arm64. */
const ARM64 = 3;

export default async function afterPack(context) {
  const platform = context.electronPlatformName;
  const executable = packagedExecutable({
    platform,
    appOutDir: context.appOutDir,
    productFilename: context.packager.appInfo.productFilename,
    executableName: context.packager.executableName,
  });
  await applyWorkstationFuses(executable, { resetAdHocDarwinSignature: platform === 'darwin' && context.arch === ARM64 });
  console.log(`  • fuses set and verified  file=${executable}`);
}
