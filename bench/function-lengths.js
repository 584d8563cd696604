#!/usr/bin/env node
// Lines per function (functions, methods, accessors, constructors and
// function-valued consts) in the .ts files of a folder, longest first:
//   node bench/function-lengths.js lib/train [--top 15]
// Uses the TypeScript parser, so multi-line signatures and nested
// functions are counted as they are written.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

function functionName(node, source) {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

function lengths(file) {
  const text = fs.readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    const isFunction = ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node);
    const isNamedArrow = (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && node.parent && (ts.isVariableDeclaration(node.parent) || ts.isPropertyDeclaration(node.parent));
    if ((isFunction || isNamedArrow) && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      found.push({ lines: last - first + 1, where: `${file}:${first + 1}`, name: functionName(node, source) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 15;
const folder = args.find((arg, i) => !arg.startsWith('--') && i !== topIndex + 1) ?? 'lib/train';
const files = fs.readdirSync(folder).filter((name) => name.endsWith('.ts')).map((name) => path.join(folder, name));
const all = files.flatMap(lengths).sort((a, b) => b.lines - a.lines);
for (const entry of all.slice(0, top)) process.stdout.write(`${String(entry.lines).padStart(4)}  ${entry.name}  ${entry.where}\n`);
const total = files.reduce((sum, file) => sum + fs.readFileSync(file, 'utf8').split('\n').length, 0);
process.stdout.write(`${all.length} functions in ${files.length} files (${total} lines); over 80 lines: ${all.filter((e) => e.lines > 80).length}\n`);
