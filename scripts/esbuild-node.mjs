// esbuild options for the Node side, shared by the app build (build.mjs) and the script runner (run-ts.mjs),
// so scripts load the engine exactly as the shipped CLI does.
export const nodeBundleOptions = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' };
// The WASM codecs (and sql.js, for GeoPackage export; elastix, for registration) stay external so Emscripten finds each .wasm next to its own .js in node_modules.
export const nodeExternals = ['electron', 'sharp', 'onnxruntime-node', '@cornerstonejs/codec-openjpeg', '@cornerstonejs/codec-charls', '@cornerstonejs/codec-openjph', '@cornerstonejs/codec-libjpeg-turbo-8bit', 'sql.js', '@itk-wasm/elastix', 'itk-wasm'];
