// The case page: keyboard verdicts (1/2/3, Ctrl+Enter) and the print button.
(function () {
  'use strict';
  var print = document.getElementById('print-case');
  if (print) { print.addEventListener('click', function () { window.print(); }); }
  var form = document.getElementById('verdict-form');
  if (!form) { return; }
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && t.type !== 'radio')) {
      if (e.ctrlKey && e.key === 'Enter') { form.submit(); }
      return;
    }
    var ids = {'1': 'v-violation', '2': 'v-no', '3': 'v-records'};
    if (ids[e.key]) {
      var r = document.getElementById(ids[e.key]);
      r.checked = true; r.focus();
      if (e.key === '1') { document.getElementById('amount').focus(); }
    }
    if (e.ctrlKey && e.key === 'Enter') { form.submit(); }
  });
})();
