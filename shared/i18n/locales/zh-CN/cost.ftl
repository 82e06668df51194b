# 费用承担及其依据：先说保修，再说每一方的责任份额及所适用的规则。
cost-reasoning = { $warranty }{ $lines }。
cost-line = { $who }，{ $treatment }{ $rule }
cost-warranty-period = 保修范围：{ $scope }，保修期 { $start } 至 { $last }，{ $status }。
cost-warranty-scope = 保修范围：{ $scope }，{ $status }。
cost-warranty-none = 该问题不属任何保修范围。
cost-warranty-in = 报修时在保修期内
cost-warranty-expired = 报修时已过保修期
cost-amount =
    { $currency ->
        [CNY] { $number } 元
       *[other] { $currency } { $number }
    }
cost-amount-to-quote = （金额待报价）
cost-party-named = { $party }（{ $name }）
cost-name = { $name }
cost-who-alone = 缺陷由{ $party }造成
cost-who-share = { $percent }% 的责任在{ $party }
cost-free-in-warranty = 在保修期内由施工方免费维修
cost-free-latent = 属施工方自身工程的潜在缺陷，虽已过保修期，按本公司政策免费维修
cost-free-by-contractor = 由施工方免费维修
cost-claim = 客户不承担费用，由施工方先行维修并向{ $party }追偿 { $amount }
cost-at-cost-latent = 属施工方自身工程的潜在缺陷，保修期已过，按成本价（不含利润）收取 { $amount }
cost-at-cost = 按成本价（不含利润）收取 { $amount }
cost-paid-not-covered = 不属保修责任，按报价提供有偿服务 { $amount }
cost-paid-expired = 保修期已过，按报价提供有偿服务 { $amount }
cost-rule = 〔规则：{ $period }·{ $party }→{ $treatment }〕
cost-rule-in-warranty = 保修期内
cost-rule-out-of-warranty = 保修期外
cost-treatment-free = 免费
cost-treatment-claim = 向责任方追偿
cost-treatment-at_cost = 按成本价
cost-treatment-paid_service = 有偿服务
cost-party-contractor = 施工方
cost-party-designer = 设计单位
cost-party-material_supplier = 材料供应商
cost-party-customer_use = 使用或维护不当
cost-party-environment = 环境因素
cost-party-third_party = 第三方
cost-party-force_majeure = 不可抗力
cost-party-undetermined = 未确定
cost-scope-main_structure = 地基基础和主体结构
cost-scope-waterproofing = 防水工程
cost-scope-heating_cooling = 供热与供冷系统
cost-scope-installation_decoration = 电气管线、给排水、设备安装和装修工程
cost-scope-other = 其他工程（含防腐涂装）
