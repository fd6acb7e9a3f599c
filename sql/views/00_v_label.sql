-- v_label: the Chinese words analysts and the report use for codes stored in English.
-- One row per (kind, code):
--   kind        'status' (assessment.status), 'severity' (assessment.severity),
--               'category' (indicator.category) or 'doc_type' (document.doc_type)
--   code        the stored code, e.g. 'off_track', 'critical', 'environment'
--   label_zh    what the evaluation table prints: 滞后于序时进度, 严重, 绿色生态 ...
--   sort_order  the order plans and the report list them in
CREATE OR REPLACE VIEW v_label AS
SELECT kind, code, label_zh, sort_order
FROM (VALUES
    ('status',   'achieved',          '已完成',          1),
    ('status',   'on_track',          '符合序时进度',    2),
    ('status',   'at_risk',           '存在滞后风险',    3),
    ('status',   'off_track',         '滞后于序时进度',  4),
    ('status',   'insufficient_data', '数据不足',        5),
    ('severity', 'critical',          '严重',            1),
    ('severity', 'high',              '重点关注',        2),
    ('severity', 'normal',            '一般',            3),
    -- Plan tables group indicators as 经济发展 / 创新驱动 / 民生福祉 / 绿色生态 / 安全保障 ...
    ('category', 'economy',           '经济发展',        1),
    ('category', 'industry',          '产业发展',        2),
    ('category', 'innovation',        '创新驱动',        3),
    ('category', 'opening_up',        '改革开放',        4),
    ('category', 'urbanization',      '城乡建设',        5),
    ('category', 'infrastructure',    '基础设施',        6),
    ('category', 'agriculture',       '乡村振兴',        7),
    ('category', 'population',        '人口发展',        8),
    ('category', 'livelihood',        '民生福祉',        9),
    ('category', 'social_services',   '社会事业',       10),
    ('category', 'environment',       '绿色生态',       11),
    ('category', 'governance',        '社会治理',       12),
    ('doc_type', 'five_year_plan',    '规划纲要',        1),
    ('doc_type', 'special_plan',      '专项规划',        2),
    ('doc_type', 'implementation_plan', '实施方案',      3),
    ('doc_type', 'work_report',       '政府工作报告',    4),
    ('doc_type', 'bulletin',          '统计公报',        5)
) AS label(kind, code, label_zh, sort_order);
