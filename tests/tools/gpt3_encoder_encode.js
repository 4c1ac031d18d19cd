// Encodes texts with the npm package gpt-3-encoder's own JavaScript encoder, for
// tests/unit/bpe_test.cpp's differential test.
//   node tests/tools/gpt3_encoder_encode.js <dir of gpt-3-encoder> <in.json> <out.json>
// in.json: a JSON array of strings; out.json: a JSON array with each string's ids.
// Each text is encoded by its own encode() call (the package's encode() appends with
// Array.concat, so it is quadratic in the number of tokens of one call).
'use strict';
const fs = require('fs');
const path = require('path');

const [moduleDir, inPath, outPath] = process.argv.slice(2);
if (!moduleDir || !inPath || !outPath) {
  console.error('usage: node gpt3_encoder_encode.js <gpt-3-encoder dir> <in.json> <out.json>');
  process.exit(2);
}
const { encode } = require(path.resolve(moduleDir));
const texts = JSON.parse(fs.readFileSync(inPath, 'utf-8'));
const ids = texts.map((text) => encode(text));
fs.writeFileSync(outPath, JSON.stringify(ids));
