// The ledger page's batch upload: the chosen files go to POST /api/v1/batches
// as multipart/form-data with the page's form token; the bar shows the
// upload, then the load is followed on the batch's status until it is
// committed or failed, and the page reloads to show the new ledger.
(function () {
  'use strict';
  var form = document.getElementById('upload-form');
  if (!form) { return; }
  var bar = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');
  var say = function (zh, en) { status.textContent = document.documentElement.lang === 'en' ? en : zh; };
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var files = document.getElementById('upload-files').files;
    if (!files.length) { say('请选择批次文件。', 'Choose the batch files.'); return; }
    var data = new FormData();
    for (var i = 0; i < files.length; i++) { data.append('file', files[i], files[i].name); }
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/batches');
    xhr.setRequestHeader('X-CSRF-Token', form.getAttribute('data-csrf'));
    xhr.upload.addEventListener('progress', function (ev) {
      if (ev.lengthComputable) { bar.max = ev.total; bar.value = ev.loaded; }
      say('上传中 ' + Math.round(100 * ev.loaded / ev.total) + '%', 'Uploading ' + Math.round(100 * ev.loaded / ev.total) + '%');
    });
    xhr.addEventListener('load', function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status !== 202) {
        say('上传失败：' + ((body.error && body.error.message) || xhr.status), 'Upload failed: ' + ((body.error && body.error.message) || xhr.status));
        return;
      }
      bar.removeAttribute('value');
      say('已上传，正在导入批次 ' + body.batch_id + '…', 'Uploaded; loading batch ' + body.batch_id + '…');
      var poll = function () {
        fetch(body.status_url, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (s) {
          if (s.status === 'running' || s.status === 'unknown') { setTimeout(poll, 700); return; }
          bar.max = 1; bar.value = 1;
          if (s.status === 'committed') {
            say('导入完成：批次 ' + body.batch_id, 'Loaded: batch ' + body.batch_id);
            status.setAttribute('data-batch', body.batch_id);
            setTimeout(function () { window.location.reload(); }, 800);
          } else {
            say('导入失败：' + (s.error || s.status), 'Load failed: ' + (s.error || s.status));
          }
        });
      };
      poll();
    });
    xhr.send(data);
  });
})();
