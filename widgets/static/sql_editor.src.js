// Source of sql_editor.js: a CodeMirror 6 SQL editor as an anywidget ESM module.
// Rebuild (npm, once, no CDN at run time):
//   npm install esbuild @codemirror/view @codemirror/state @codemirror/lang-sql \
//       @codemirror/autocomplete @codemirror/commands @codemirror/language
//   npx esbuild sql_editor.src.js --bundle --format=esm --minify --outfile=sql_editor.js
import { EditorState, Compartment } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, placeholder, highlightActiveLine } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from "@codemirror/language";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";

// Macros and parameters the room declares, offered wherever a word is being typed.
function macroSource(model) {
  return (context) => {
    const word = context.matchBefore(/[:\w.]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const options = (model.get("completions") || []).map((c) => ({
      label: c.label, type: c.type || "variable", detail: c.detail || "", boost: 10,
    }));
    return { from: word.from, options, validFor: /^[:\w.]*$/ };
  };
}

function render({ model, el }) {
  const editable = new Compartment();
  const schema = () => {
    const tables = {};
    for (const c of model.get("completions") || []) if (c.type === "table") tables[c.label] = c.columns || [];
    return tables;
  };
  const language = new Compartment();
  const view = new EditorView({
    parent: el,
    state: EditorState.create({
      doc: model.get("value") || "",
      extensions: [
        lineNumbers(), history(), highlightActiveLine(), bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        language.of(sql({ dialect: StandardSQL, schema: schema(), upperCaseKeywords: true })),
        autocompletion({ override: null }),
        EditorState.languageData.of(() => [{ autocomplete: macroSource(model) }]),
        keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
        placeholder(model.get("placeholder") || ""),
        editable.of(EditorView.editable.of(!model.get("disabled"))),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            model.set("value", update.state.doc.toString());
            model.save_changes();
          }
        }),
        EditorView.theme({
          "&": { border: "1px solid #9e9e9e", fontSize: "13px", minHeight: "140px", background: "#fff" },
          ".cm-scroller": { fontFamily: "monospace", minHeight: "140px" },
        }),
      ],
    }),
  });
  el.classList.add("wb-sql-editor");
  const onValue = () => {
    const value = model.get("value") || "";
    if (value !== view.state.doc.toString()) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    }
  };
  const onDisabled = () => view.dispatch({
    effects: editable.reconfigure(EditorView.editable.of(!model.get("disabled"))),
  });
  const onCompletions = () => view.dispatch({
    effects: language.reconfigure(sql({ dialect: StandardSQL, schema: schema(), upperCaseKeywords: true })),
  });
  model.on("change:value", onValue);
  model.on("change:disabled", onDisabled);
  model.on("change:completions", onCompletions);
  return () => {
    model.off("change:value", onValue);
    model.off("change:disabled", onDisabled);
    model.off("change:completions", onCompletions);
    view.destroy();
  };
}

export default { render };
