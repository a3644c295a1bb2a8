/** `npm run kernel:install`: register the project's tslab kernel with Jupyter. */
import { findJupyter, installKernel, INSTALL_HINT, KERNEL_NAME } from './jupyter';

const jupyter = findJupyter();
if (!jupyter) {
  console.error(INSTALL_HINT);
  process.exit(1);
}
console.log(installKernel(jupyter));
console.log(`Kernel '${KERNEL_NAME}' registered: open notebooks/ in Jupyter and pick "TypeScript (splitz)".`);
